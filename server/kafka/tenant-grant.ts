/**
 * `tracking kafka grant`: tenant isolation enforced by the broker (the seed's "租户隔离（必须！）").
 *
 * For tenant `<id>` it creates (or resets the password of) the SCRAM-SHA-512 user `tenant-<id>`
 * and the ACLs that let principal `User:tenant-<id>` WRITE and DESCRIBE exactly one topic,
 * `user-behaviors-<id>` (created here if missing), through the Admin API, as an admin principal. With the broker's
 * StandardAuthorizer and `allow.everyone.if.no.acl.found=false`, that principal can write no other
 * tenant's topic. Idempotent: running it again keeps the ACLs and sets a new password.
 */
import { pbkdf2Sync, randomBytes } from "node:crypto";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import {
  AclOperations,
  AclPermissionTypes,
  Admin,
  alterUserScramCredentialsV0,
  Connection,
  findErrorBy,
  ResourcePatternTypes,
  ResourceTypes,
  type SASLOptions,
} from "@platformatic/kafka";
import { behaviorEventFieldRules, behaviorEventKafka } from "../../gen/validator/recommender/v1/behavior_validator.js";
import type { KafkaSaslOptions } from "../../sdk/common/kafka-publisher.js";
import { kafkaErrorReason } from "../../sdk/common/kafka-publisher.js";

/** How to reach the broker as an admin principal (a super user or one with ALTER on the cluster). */
export interface KafkaAdminOptions {
  /** Bootstrap servers, host:port. */
  brokers: string[];
  /** SASL credentials of the admin principal (omit on a PLAINTEXT dev listener). */
  sasl?: KafkaSaslOptions;
  /** TLS: `true` for system CAs, or node:tls options (e.g. `{ ca }`). */
  tls?: boolean | TlsConnectionOptions;
  /** Per-request timeout, ms. Default 10 000. */
  timeoutMs?: number;
}

/** What a tenant's direct Kafka writer needs (printed by the CLI). */
export interface TenantGrant {
  tenantId: string;
  /** SCRAM user name, `tenant-<id>`. */
  username: string;
  /** The generated (or given) password; shown once. */
  password: string;
  /** Kafka principal the ACLs name, `User:tenant-<id>`. */
  principal: string;
  /** The only topic it may write. */
  topic: string;
  mechanism: "SCRAM-SHA-512";
}

const TENANT_RE = new RegExp(behaviorEventFieldRules.tenant_id.pattern, "u");
/** Kafka's AlterUserScramCredentials mechanism id for SCRAM-SHA-512. */
const SCRAM_SHA_512 = 2;
/** Kafka's default and minimum SCRAM iteration count. */
const SCRAM_ITERATIONS = 4096;

/** The SCRAM user of a tenant; one place for the naming rule the ACLs and the docs rely on. */
export function tenantPrincipalName(tenantId: string): string {
  return `tenant-${tenantId}`;
}

/** Creates the tenant's SCRAM user and its ACLs; see the module comment. */
export async function grantTenant(
  admin: KafkaAdminOptions,
  tenantId: string,
  options: {
    /** The tenant's password; default 24 random bytes, base64url. */
    password?: string;
    /** Partitions of the tenant topic if it must be created. Default 12 (the seed's 12-24). */
    partitions?: number;
    /** Replication factor of the tenant topic if it must be created. Default 1. */
    replicationFactor?: number;
  } = {},
): Promise<TenantGrant> {
  if (!TENANT_RE.test(tenantId) || tenantId.length > behaviorEventFieldRules.tenant_id.max_len) {
    throw new RangeError(
      `tenant id ${JSON.stringify(tenantId)} must match ${behaviorEventFieldRules.tenant_id.pattern} (at most ${behaviorEventFieldRules.tenant_id.max_len} characters)`,
    );
  }
  const username = tenantPrincipalName(tenantId);
  const password = options.password ?? randomBytes(24).toString("base64url");
  const topic = behaviorEventKafka.topic({ tenant_id: tenantId });
  const principal = `User:${username}`;
  const timeout = admin.timeoutMs ?? 10_000;
  const connection = {
    clientId: "tracking-kafka-grant",
    bootstrapBrokers: admin.brokers,
    connectTimeout: timeout,
    requestTimeout: timeout,
    retries: 1,
    ...(admin.sasl ? { sasl: admin.sasl as SASLOptions } : {}),
    ...(admin.tls ? { tls: admin.tls === true ? {} : admin.tls } : {}),
  };
  try {
    await upsertScramUser(connection, username, password);
    const client = new Admin(connection);
    try {
      // The admin provisions the topic: the tenant's principal may write it but not create topics.
      try {
        await client.createTopics({
          topics: [topic],
          partitions: options.partitions ?? 12,
          replicas: options.replicationFactor ?? 1,
        });
      } catch (error) {
        if (!findErrorBy(error as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw error;
      }
      await client.createAcls({
        creations: (["WRITE", "DESCRIBE"] as const).map((op) => ({
          resourceType: ResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal,
          host: "*",
          operation: AclOperations[op],
          permissionType: AclPermissionTypes.ALLOW,
        })),
      });
      await waitForAcls(client, principal, topic, timeout);
    } finally {
      await client.close();
    }
  } catch (error) {
    throw new Error(`kafka grant for tenant ${tenantId} failed: ${kafkaErrorReason(error).message}`, { cause: error });
  }
  return { tenantId, username, password, principal, topic, mechanism: "SCRAM-SHA-512" };
}

/**
 * AlterUserScramCredentials on one bootstrap broker (KRaft forwards it to the controller).
 * The client library has the request but no Admin method for it, so it is sent on a connection
 * of its own. The salted password is derived here as SCRAM requires (RFC 5802: Hi = PBKDF2).
 */
async function upsertScramUser(
  options: {
    bootstrapBrokers: string[];
    connectTimeout: number;
    requestTimeout: number;
    sasl?: SASLOptions;
    tls?: TlsConnectionOptions;
  },
  username: string,
  password: string,
): Promise<void> {
  const salt = randomBytes(32);
  const saltedPassword = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 64, "sha512");
  const [host, port] = splitHostPort(options.bootstrapBrokers[0] ?? "");
  const conn = new Connection("tracking-kafka-grant", {
    connectTimeout: options.connectTimeout,
    requestTimeout: options.requestTimeout,
    ...(options.sasl ? { sasl: options.sasl } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  try {
    await conn.connect(host, port);
    const response = await alterUserScramCredentialsV0.api.async(
      conn,
      [],
      [{ name: username, mechanism: SCRAM_SHA_512, iterations: SCRAM_ITERATIONS, salt, saltedPassword }],
    );
    const failed = response.results.find((r) => r.errorCode !== 0);
    if (failed) {
      throw new Error(
        `creating SCRAM user ${failed.user} failed: ${failed.errorMessage ?? `error ${failed.errorCode}`}`,
      );
    }
  } finally {
    await conn.close();
  }
}

/**
 * The broker applies new ACLs when it replays the metadata log, a moment after CreateAcls
 * returns; a tenant connecting in between would be refused. Describe is answered from the same
 * authorizer state, so once it lists both ACLs they are enforced.
 */
async function waitForAcls(client: Admin, principal: string, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await client.describeAcls({
      filter: {
        resourceType: ResourceTypes.TOPIC,
        resourceName: topic,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        principal,
        host: "*",
        operation: AclOperations.ANY,
        permissionType: AclPermissionTypes.ALLOW,
      },
    });
    const ops = new Set(found.flatMap((r) => r.acls.map((a) => a.operation)));
    if (ops.has(AclOperations.WRITE) && ops.has(AclOperations.DESCRIBE)) return;
    if (Date.now() > deadline)
      throw new Error(`the ACLs of ${principal} on ${topic} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function splitHostPort(broker: string): [string, number] {
  const i = broker.lastIndexOf(":");
  const port = Number(broker.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) throw new RangeError(`broker ${JSON.stringify(broker)} is not host:port`);
  return [broker.slice(0, i), port];
}
