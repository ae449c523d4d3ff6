/**
 * `tracking kafka …`: broker administration for the tenant topics.
 *
 *   tracking kafka grant --tenant <id>   SCRAM user `tenant-<id>` + ACLs for `user-behaviors-<id>` only
 *
 * Connects as the admin principal: KAFKA_ADMIN_USER / KAFKA_ADMIN_PASSWORD (environment only),
 * with the same --brokers/--kafka-security-protocol/--kafka-sasl-mechanism/--kafka-ca-file flags
 * as `serve`. Prints the settings a direct writer (KafkaTracker, aiokafka, sarama) needs.
 * Exit codes: 0 granted, 1 the broker refused or could not be reached (the cause is printed).
 */
import { Command, Option } from "commander";
import { addKafkaConnectionFlags, type KafkaConnectionFlags, resolveKafkaConnection } from "./connection-flags.js";
import { grantTenant } from "./tenant-grant.js";

interface GrantFlags extends KafkaConnectionFlags {
  tenant: string;
  json: boolean;
  passwordStdin: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

/** The `kafka` command group. */
export function kafkaCommand(): Command {
  const kafka = new Command("kafka").description("administer the tenant topics on the broker");
  const grant = kafka
    .command("grant")
    .description(
      "create the SCRAM-SHA-512 user tenant-<id> allowed to write only user-behaviors-<id> (idempotent; a new password each run)",
    )
    .requiredOption("--tenant <id>", "tenant id")
    .addOption(new Option("--json", "print the client settings as JSON").default(false))
    .addOption(
      new Option("--password-stdin", "read the tenant's password from stdin instead of generating one").default(false),
    );
  addKafkaConnectionFlags(grant, "bootstrap servers of the listener the admin connects to");
  grant.action(async (o: GrantFlags) => {
    const env = process.env;
    const connection = resolveKafkaConnection(o, {
      username: env.KAFKA_ADMIN_USER,
      password: env.KAFKA_ADMIN_PASSWORD,
    });
    const password = o.passwordStdin ? await readStdin() : undefined;
    const g = await grantTenant(connection, o.tenant, password !== undefined ? { password } : {});
    const settings = {
      KAFKA_BROKERS: connection.brokers.join(","),
      // The listener the admin used: the tenant authenticates there too (a PLAINTEXT listener has
      // no principal to check, which is why production brokers expose SASL_SSL only).
      KAFKA_SECURITY_PROTOCOL: o.kafkaSecurityProtocol,
      KAFKA_SASL_MECHANISM: g.mechanism,
      KAFKA_USER: g.username,
      KAFKA_PASSWORD: g.password,
      ...(o.kafkaCaFile !== undefined ? { KAFKA_SSL_CA_FILE: o.kafkaCaFile } : {}),
    };
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({ tenant_id: g.tenantId, principal: g.principal, topic: g.topic, settings })}\n`,
      );
      return;
    }
    process.stdout.write(
      `# ${g.principal} may WRITE and DESCRIBE ${g.topic} only. The password is shown once.\n` +
        Object.entries(settings)
          .map(([k, v]) => `${k}=${v}`)
          .join("\n") +
        "\n",
    );
  });
  return kafka;
}
