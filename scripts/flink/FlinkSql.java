import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

/**
 * Runs Flink SQL files in a local mini-cluster (streaming mode), like the SQL client would:
 * {@code java -cp '.tools/flink/libs/*:.tools/flink/classes' FlinkSql a.sql b.sql ...}.
 *
 * <p>Statements end with {@code ;} (outside quotes and comments). {@code SET 'key' = 'value'}
 * sets a table config option; DDL and ALTER run at once; every INSERT is collected into one
 * statement set, submitted after the last file, and awaited, so a bounded source makes the run
 * finish. Prints one line per statement on stderr and, on success, {@code flink-sql: job <id>
 * FINISHED} on stdout; exits 1 on any failure.
 */
public final class FlinkSql {
  private static final Pattern SET = Pattern.compile(
      "(?is)^SET\\s+'([^']+)'\\s*=\\s*'((?:[^']|'')*)'$");

  private FlinkSql() {}

  /** Splits a SQL script into statements: on ';' outside '...' strings, `...` names and comments. */
  static List<String> split(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    int n = sql.length();
    for (int i = 0; i < n; i++) {
      char c = sql.charAt(i);
      if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? n : end;
        cur.append('\n');
        continue;
      }
      if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 1;
        cur.append(' ');
        continue;
      }
      if (c == '\'' || c == '`') {
        int j = i + 1;
        while (j < n) {
          if (sql.charAt(j) == c) {
            if (j + 1 < n && sql.charAt(j + 1) == c) { // '' and `` escape the quote inside
              j += 2;
              continue;
            }
            break;
          }
          j++;
        }
        cur.append(sql, i, Math.min(j + 1, n));
        i = j;
        continue;
      }
      if (c == ';') {
        String s = cur.toString().trim();
        if (!s.isEmpty()) out.add(s);
        cur.setLength(0);
        continue;
      }
      cur.append(c);
    }
    String s = cur.toString().trim();
    if (!s.isEmpty()) out.add(s);
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: FlinkSql <file.sql>...");
      System.exit(2);
    }
    // The mini-cluster's servers (blob server, shuffle, REST) listen on loopback only, and one
    // slot's worth of parallelism is plenty locally; SET in a file overrides table options.
    Configuration conf = new Configuration();
    conf.setString("jobmanager.bind-host", "127.0.0.1");
    conf.setString("jobmanager.rpc.address", "127.0.0.1");
    conf.setString("taskmanager.bind-host", "127.0.0.1");
    conf.setString("taskmanager.host", "127.0.0.1");
    conf.setString("rest.bind-address", "127.0.0.1");
    conf.setString("rest.address", "127.0.0.1");
    conf.setString("parallelism.default", "1");
    TableEnvironment env = TableEnvironment.create(
        EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(conf).build());
    // INSERTs are planned after the last file, so an ALTER TABLE in a later file (e.g. a
    // deployment's overrides) applies to them: addInsertSql binds the table as it is then.
    List<String> inserts = new ArrayList<>();
    for (String file : args) {
      for (String stmt : split(Files.readString(Path.of(file), StandardCharsets.UTF_8))) {
        String head = stmt.replaceAll("\\s+", " ");
        head = head.length() > 80 ? head.substring(0, 80) + "..." : head;
        System.err.println("flink-sql: " + file + ": " + head);
        Matcher set = SET.matcher(stmt);
        if (set.matches()) {
          env.getConfig().getConfiguration().setString(set.group(1), set.group(2).replace("''", "'"));
        } else if (stmt.regionMatches(true, 0, "INSERT", 0, 6)) {
          inserts.add(stmt);
        } else {
          env.executeSql(stmt);
        }
      }
    }
    if (inserts.isEmpty()) {
      System.out.println("flink-sql: no INSERT statement, nothing to run");
      return;
    }
    StatementSet set = env.createStatementSet();
    for (String insert : inserts) set.addInsertSql(insert);
    TableResult result = set.execute();
    String job = result.getJobClient().map(c -> c.getJobID().toString()).orElse("?");
    // Returns when the job has finished (a bounded source ended); throws when it failed.
    result.await();
    System.out.println("flink-sql: job " + job + " FINISHED");
  }
}
