import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { seedEventData } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("server smoke", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.stop(true));

  it("tracks the seed's HTTP example into the embedded file sink", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(seedEventData()),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; event_id: string; message: string };
    expect(body.success).toBe(true);
    expect(body.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
    expect(body.message).toBe("Event tracked successfully");
    const lines = await readTopicFile(t.dataDir, "user-behaviors-mymx");
    expect(lines).toHaveLength(1);
    expect(lines.map((l) => l.key)).toEqual(["user_12345"]);
  });
});
