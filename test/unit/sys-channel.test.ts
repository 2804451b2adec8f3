// The sync channel's buffering (src/sys/channel.ts), the same under Bun and Node: whole
// messages out of chunks, EOF, and a close on this side ending a read that waits.
import { describe, expect, test } from "bun:test";
import { ChunkChannel } from "../../src/sys/channel.ts";

function channel(): { ch: ChunkChannel; closed: () => number } {
  let closes = 0;
  const ch = new ChunkChannel(
    async () => {},
    () => {
      closes++;
    },
  );
  return { ch, closed: () => closes };
}

describe("ChunkChannel", () => {
  test("a read waits for a whole message across chunks", async () => {
    const { ch } = channel();
    const read = ch.read(4);
    ch.push(Uint8Array.of(1, 2));
    ch.push(Uint8Array.of(3, 4, 5));
    expect([...((await read) ?? [])]).toEqual([1, 2, 3, 4]);
    ch.end();
    expect(await ch.read(4)).toBeNull();
  });

  test("a read waiting when this side closes the channel gets EOF, not a promise that never settles", async () => {
    // The driver reads MSG_EXITED after MSG_RUNNING and closes the channel once the helper is
    // gone; under Node the --batch process can report that exit before the socket's EOF.
    const { ch, closed } = channel();
    const read = ch.read(16);
    ch.close();
    ch.close();
    expect(await read).toBeNull();
    expect(closed()).toBe(1);
    expect(await ch.read(16)).toBeNull();
  });

  test("what was buffered before the close is still read", async () => {
    const { ch } = channel();
    ch.push(Uint8Array.of(9, 8, 7, 6));
    ch.close();
    expect([...((await ch.read(4)) ?? [])]).toEqual([9, 8, 7, 6]);
    expect(await ch.read(1)).toBeNull();
  });
});
