// Generates test/kafka/fixtures/murmur2-vectors.json from Kafka's own Java client (the reference
// implementation our TypeScript partitioner must match byte for byte). Run via
// test/kafka/gen-murmur2-vectors.sh; the JSON output is committed, so tests need no JVM.
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

public class Murmur2Vectors {
  static final int[] PARTITIONS = {1, 2, 3, 7, 12, 24, 100};

  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) {
    List<String> keys = new ArrayList<>();
    // Kafka's UtilsTest.testMurmur2 inputs, plus every tail length (0..3 leftover bytes).
    String[] fixed = {"", "a", "ab", "abc", "abcd", "abcde", "21", "foobar", "a-little-bit-long-string",
        "a-little-bit-longer-string", "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
        "user_12345", "user_123", "user_1", "mymx", "tenant_abc",
        "用户", "用户_12345", "张三", "ユーザー", "사용자", "😀", "user😀", "🇨🇳🇺🇸", "é", "e\u0301",
        "naïve", "Ωmega", "\u0000", "a\u0000b", "\u007f\u0080\u00ff", "\uffff", "\ud83d\ude00\ud83d\ude01",
        "key with spaces", "tab\tkey", "quote\"key", "back\\slash", "very-" + "long-".repeat(40) + "key"};
    for (String k : fixed) keys.add(k);
    Random rnd = new Random(20241126L);
    String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:";
    while (keys.size() < 170) {
      int len = rnd.nextInt(48);
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < len; i++) sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
      keys.add(sb.toString());
    }
    // Random BMP + astral code points (valid UTF-16 only: lone surrogates encode differently in Java and JS).
    while (keys.size() < 220) {
      int len = 1 + rnd.nextInt(12);
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < len; i++) {
        int cp;
        do { cp = rnd.nextInt(4) == 0 ? 0x10000 + rnd.nextInt(0x10ffff - 0x10000) : rnd.nextInt(0xffff); }
        while (cp >= 0xd800 && cp <= 0xdfff);
        sb.appendCodePoint(cp);
      }
      keys.add(sb.toString());
    }
    StringBuilder out = new StringBuilder();
    out.append("{\n  \"generator\": \"test/kafka/Murmur2Vectors.java against kafka-clients ")
       .append(org.apache.kafka.common.utils.internals.AppInfoParser.getVersion()).append("\",\n");
    out.append("  \"partitions\": [");
    for (int i = 0; i < PARTITIONS.length; i++) out.append(i == 0 ? "" : ", ").append(PARTITIONS[i]);
    out.append("],\n  \"vectors\": [\n");
    for (int i = 0; i < keys.size(); i++) {
      byte[] bytes = keys.get(i).getBytes(StandardCharsets.UTF_8);
      out.append("    {\"key\": ").append(json(keys.get(i)))
         .append(", \"utf8Hex\": \"").append(hex(bytes)).append("\"")
         .append(", \"murmur2\": ").append(Utils.murmur2(bytes))
         .append(", \"positive\": ").append(Utils.toPositive(Utils.murmur2(bytes)))
         .append(", \"partition\": [");
      for (int j = 0; j < PARTITIONS.length; j++) {
        out.append(j == 0 ? "" : ", ").append(BuiltInPartitioner.partitionForKey(bytes, PARTITIONS[j]));
      }
      out.append("]}").append(i + 1 < keys.size() ? ",\n" : "\n");
    }
    out.append("  ]\n}\n");
    System.out.print(out);
  }

  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x & 0xff));
    return s.toString();
  }
}
