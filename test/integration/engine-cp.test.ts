/**
 * husk cp / Engine.copyFrom and copyTo. The container side is hostile: the exploit tests come
 * first — `..` names, an absolute symlink on the path, an absolute symlink inside a copied
 * directory, a tar stream with `..` and with a symlink to write through, and a container that
 * swaps a directory for a symlink to "/" in a loop while copies run (with a control: a naive
 * read through /proc/<pid>/root does reach the host's file). Then docker's rules (file→file,
 * file→dir, dir→new dir, dir→dir, "dir/.", "-", -a, -L), exited containers, bad input.
 */
import { expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { HuskError } from "../../src/errors.ts";
import { TAR_END, tarHeader, tarPadding } from "../../src/image/tar-writer.ts";
import { type EngineWorld, worldWithScratch } from "../fixtures/engine.ts";
import { describeAsRoot } from "../fixtures/husk.ts";

const HOST_HOSTNAME = readFileSync("/etc/hostname", "utf8");

/** Every regular file under dir (not following symlinks). */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...files(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

function tar(entries: { path: string; type: "file" | "dir" | "symlink"; data?: string; linkname?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    parts.push(tarHeader({ path: e.path, type: e.type, size: data.length, linkname: e.linkname, mode: 0o644 }));
    if (e.type === "file") parts.push(data, tarPadding(data.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

describeAsRoot("engine cp", () => {
  let w!: EngineWorld;
  let host!: string;
  worldWithScratch("husk-cp-", (world, scratch) => {
    w = world;
    host = scratch;
  });

  const dest = (name: string) => {
    const d = join(host, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  test("exploit: .. names and absolute symlinks on the path stay inside the container's root", async () => {
    const c = await w.engine.start(
      "busybox",
      ["sh", "-c", "ln -s /etc /evil && ln -s ../../../../../../etc /evil2 && exec sleep 60"],
      { network: "none", name: "cp-paths" },
    );
    try {
      const mine = `${c.id.slice(0, 12)}\n`;
      const d = dest("paths");
      for (const [i, p] of [
        "../../../../../../etc/hostname",
        "/evil/hostname",
        "evil2/hostname",
        "/../etc/../../etc/hostname",
      ].entries()) {
        await w.engine.copyFrom("cp-paths", p, join(d, `h${i}`));
        expect(readFileSync(join(d, `h${i}`), "utf8")).toBe(mine);
      }
      // Writing through the same names lands in the container's /etc, never the host's.
      const marker = `husk-cp-marker-${w.id}`;
      writeFileSync(join(d, marker), "x\n");
      for (const p of [`/evil/${marker}`, `../../../../etc/${marker}-2`, `evil2/${marker}-3`])
        await w.engine.copyTo("cp-paths", join(d, marker), p);
      for (const n of [marker, `${marker}-2`, `${marker}-3`]) expect(existsSync(`/etc/${n}`)).toBe(false);
      const ls = await c.exec(["ls", "/etc"]);
      expect(ls.stdout).toContain(`${marker}\n`);
      expect(ls.stdout).toContain(`${marker}-2\n`);
      expect(ls.stdout).toContain(`${marker}-3\n`);
      // CLI: the same resolution.
      const r = await w.husk(["cp", "cp-paths:../../evil/hostname", join(d, "cli")]);
      expect(r.code).toBe(0);
      expect(readFileSync(join(d, "cli"), "utf8")).toBe(mine);
    } finally {
      await c.remove({ force: true });
    }
  });

  test("exploit: an absolute symlink inside a copied directory is copied as a symlink and never written through", async () => {
    const c = await w.engine.start(
      "busybox",
      ["sh", "-c", "mkdir -p /d/sub && echo a > /d/sub/f && ln -s / /d/l && ln -s /etc/shadow /d/shadow && exec sleep 60"],
      { network: "none", name: "cp-links" },
    );
    try {
      const d = dest("links");
      expect((await w.husk(["cp", "cp-links:/d", d])).code).toBe(0);
      expect(readlinkSync(join(d, "d/l"))).toBe("/");
      expect(readlinkSync(join(d, "d/shadow"))).toBe("/etc/shadow");
      expect(readFileSync(join(d, "d/sub/f"), "utf8")).toBe("a\n");
      // The container turns its link into a directory with a file in it; copied again onto
      // the host's copy (whose d/l is a symlink to the host's "/"), the file must land in
      // d/l as a directory, not in the host's root.
      const marker = `husk-cp-pwned-${w.id}`;
      await c.exec(["sh", "-c", `rm /d/l && mkdir /d/l && echo pwned > /d/l/${marker}`]);
      expect((await w.husk(["cp", "cp-links:/d", d])).code).toBe(0);
      expect(existsSync(`/${marker}`)).toBe(false);
      expect(lstatSync(join(d, "d/l")).isDirectory()).toBe(true);
      expect(readFileSync(join(d, "d/l", marker), "utf8")).toBe("pwned\n");
    } finally {
      await c.remove({ force: true });
    }
  });

  test("exploit: a tar stream with .. names, absolute names or a symlink to write through is refused", async () => {
    const c = await w.engine.start("busybox", ["sh", "-c", "mkdir /in && exec sleep 60"], {
      network: "none",
      name: "cp-tar",
    });
    try {
      const outside = dest("tar-outside");
      const attempts: Buffer[] = [
        tar([{ path: "../../../../../../../../outside-dotdot", type: "file", data: "x" }]),
        tar([
          { path: "l", type: "symlink", linkname: outside },
          { path: "l/through-link", type: "file", data: "x" },
        ]),
        tar([
          { path: "r", type: "symlink", linkname: "/" },
          { path: "r/etc/husk-through-root", type: "file", data: "x" },
        ]),
      ];
      for (const t of attempts) {
        const err = await w.engine.copyTo("cp-tar", Readable.from([t]), "/in").catch((e) => e);
        expect(err).toBeInstanceOf(HuskError);
      }
      expect(readdirSync(outside)).toEqual([]);
      expect(existsSync("/etc/husk-through-root")).toBe(false);
      expect((await c.exec(["ls", "/etc"])).stdout).not.toContain("husk-through-root");
      // An absolute name is taken inside the destination, as docker does.
      await w.engine.copyTo("cp-tar", Readable.from([tar([{ path: "/abs/name", type: "file", data: "ok" }])]), "/in");
      expect((await c.exec(["cat", "/in/abs/name"])).stdout).toBe("ok");
      // Through the CLI: one error line, status 1.
      const r = await w.husk(["cp", "-", "cp-tar:/in"], {
        stdin: tar([{ path: "../x", type: "file", data: "x" }]).toString("latin1"),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^husk: .*"\.\." component.*\n$/);
    } finally {
      await c.remove({ force: true });
    }
  });

  test("exploit: a directory swapped for a symlink to / in a loop while copies run", async () => {
    const script = [
      "mkdir -p /race/dir/etc && echo inside > /race/dir/etc/hostname && ln -s / /race/link",
      "while :; do mv /race/dir /race/tmp; mv /race/link /race/dir; mv /race/dir /race/link; mv /race/tmp /race/dir; done",
    ].join(" && ");
    const c = await w.engine.start("busybox", ["sh", "-c", script], { network: "none", name: "cp-race" });
    try {
      const mine = `${c.id.slice(0, 12)}\n`;
      // Control: a naive read through /proc/<pid>/root follows the container's "/" link from
      // the host's root, and reads the host's file. The copies below must never do that.
      let naiveEscaped = false;
      const deadline = Date.now() + 10000;
      while (!naiveEscaped && Date.now() < deadline) {
        try {
          naiveEscaped = readFileSync(`/proc/${c.pid}/root/race/dir/etc/hostname`, "utf8") === HOST_HOSTNAME;
        } catch {}
      }
      expect(naiveEscaped).toBe(true);

      const d = dest("race");
      const marker = `husk-cp-race-${w.id}`;
      writeFileSync(join(d, "marker"), "m\n");
      let ok = 0;
      for (let i = 0; i < 40; i++) {
        try {
          await w.engine.copyFrom("cp-race", "/race/dir/etc/hostname", join(d, `h${i}`));
          expect([mine, "inside\n"]).toContain(readFileSync(join(d, `h${i}`), "utf8"));
          ok++;
        } catch (err) {
          expect(err).toBeInstanceOf(HuskError); // a step that met the swap fails cleanly
        }
        await w.engine.copyTo("cp-race", join(d, "marker"), `/race/dir/etc/${marker}-${i}`).catch((err) => {
          expect(err).toBeInstanceOf(HuskError);
        });
        await w.engine.copyFrom("cp-race", "/race", join(d, `tree${i}`)).catch((err) => {
          expect(err).toBeInstanceOf(HuskError);
        });
      }
      expect(ok).toBeGreaterThan(0);
      for (let i = 0; i < 40; i++) expect(existsSync(`/etc/${marker}-${i}`)).toBe(false);
      for (const f of files(d)) expect(readFileSync(f, "utf8")).not.toBe(HOST_HOSTNAME);
    } finally {
      await c.remove({ force: true });
    }
  }, 120000);

  test("docker's rules: file→file, file→dir, dir→new dir, dir→dir, dir/., tar out and in, -a, -L", async () => {
    const c = await w.engine.start(
      "busybox",
      [
        "sh",
        "-c",
        "mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && chown -R 1234:5678 /data && chmod 640 /data/a && ln -s /data/a /link && exec sleep 60",
      ],
      { network: "none", name: "cp-rules" },
    );
    try {
      const d = dest("rules");
      const cp = (...args: string[]) => w.husk(["cp", ...args]);
      // file → new file; file → existing file (overwritten); file → existing directory.
      expect((await cp("cp-rules:/data/a", join(d, "a1"))).code).toBe(0);
      expect(readFileSync(join(d, "a1"), "utf8")).toBe("one\n");
      expect(statSync(join(d, "a1")).mode & 0o777).toBe(0o640);
      expect(statSync(join(d, "a1")).uid).toBe(0); // without -a: the caller's
      writeFileSync(join(d, "a2"), "old old old\n");
      expect((await cp("cp-rules:/data/a", join(d, "a2"))).code).toBe(0);
      expect(readFileSync(join(d, "a2"), "utf8")).toBe("one\n");
      mkdirSync(join(d, "into"));
      expect((await cp("cp-rules:/data/a", join(d, "into"))).code).toBe(0);
      expect(readFileSync(join(d, "into/a"), "utf8")).toBe("one\n");
      // file → "missing/": the directory must exist.
      const miss = await cp("cp-rules:/data/a", `${join(d, "nodir")}/`);
      expect(miss.code).toBe(1);
      expect(miss.stderr).toContain("must exist");
      // dir → new dir (its contents); dir → existing dir (into it); dir/. → contents.
      expect((await cp("cp-rules:/data", join(d, "new"))).code).toBe(0);
      expect(readFileSync(join(d, "new/sub/b"), "utf8")).toBe("two\n");
      mkdirSync(join(d, "exist"));
      expect((await cp("cp-rules:/data", join(d, "exist"))).code).toBe(0);
      expect(readFileSync(join(d, "exist/data/sub/b"), "utf8")).toBe("two\n");
      mkdirSync(join(d, "content"));
      expect((await cp("cp-rules:/data/.", join(d, "content"))).code).toBe(0);
      expect(readdirSync(join(d, "content")).sort()).toEqual(["a", "sub"]);
      // dir → file: refused.
      const df = await cp("cp-rules:/data", join(d, "a1"));
      expect(df.code).toBe(1);
      expect(df.stderr).toContain("cannot copy a directory to a file");
      // -a keeps the container's owners.
      expect((await cp("-a", "cp-rules:/data", join(d, "arch"))).code).toBe(0);
      expect(statSync(join(d, "arch/sub/b")).uid).toBe(1234);
      expect(statSync(join(d, "arch/sub/b")).gid).toBe(5678);
      // -L: the symlink's target, under the link's name; without: the symlink.
      expect((await cp("cp-rules:/link", join(d, "nolink"))).code).toBe(0);
      expect(readlinkSync(join(d, "nolink"))).toBe("/data/a");
      expect((await cp("-L", "cp-rules:/link", join(d, "followed"))).code).toBe(0);
      expect(readFileSync(join(d, "followed"), "utf8")).toBe("one\n");
      // "-": a tar stream out, and one in.
      const out = Bun.spawnSync(
        ["sh", "-c", `"$0" cp cp-rules:/data - | tar -t | sort`, join(import.meta.dir, "../../bin/husk")],
        {
          env: w.env,
        },
      );
      expect(out.stdout.toString()).toBe("data/\ndata/a\ndata/sub/\ndata/sub/b\n");
      const tin = await w.husk(["cp", "-", "cp-rules:/tmp"], {
        stdin: tar([{ path: "t/x", type: "file", data: "from tar" }]).toString("latin1"),
      });
      expect(tin.code).toBe(0);
      expect((await c.exec(["cat", "/tmp/t/x"])).stdout).toBe("from tar");
      // host → container: owner root without -a, the host's with -a; into a directory; new name.
      mkdirSync(join(d, "up/in"), { recursive: true });
      writeFileSync(join(d, "up/in/f"), "up\n");
      const { chownSync } = await import("node:fs");
      chownSync(join(d, "up/in/f"), 4321, 4321);
      expect((await cp(join(d, "up"), "cp-rules:/tmp/")).code).toBe(0);
      expect((await c.exec(["stat", "-c", "%u:%g %n", "/tmp/up/in/f"])).stdout).toBe("0:0 /tmp/up/in/f\n");
      expect((await cp("-a", join(d, "up/in/f"), "cp-rules:/tmp/renamed")).code).toBe(0);
      expect((await c.exec(["stat", "-c", "%u:%g", "/tmp/renamed"])).stdout).toBe("4321:4321\n");
      symlinkSync(join(d, "up/in/f"), join(d, "hostlink"));
      expect((await cp("-L", join(d, "hostlink"), "cp-rules:/tmp/")).code).toBe(0);
      expect((await c.exec(["cat", "/tmp/hostlink"])).stdout).toBe("up\n");
    } finally {
      await c.remove({ force: true });
    }
  });

  test("an exited container: copies both ways through a private mount of its overlay, nothing left mounted", async () => {
    const c = await w.engine.start("busybox", ["sh", "-c", "echo kept > /kept && ln -s / /root-link"], {
      network: "none",
      name: "cp-exited",
    });
    await c.wait();
    expect((await w.engine.inspect("cp-exited")).State.Running).toBe(false);
    const d = dest("exited");
    expect((await w.husk(["cp", "cp-exited:/kept", join(d, "kept")])).code).toBe(0);
    expect(readFileSync(join(d, "kept"), "utf8")).toBe("kept\n");
    writeFileSync(join(d, "in"), "in\n");
    expect((await w.husk(["cp", join(d, "in"), "cp-exited:/root-link/etc/in"])).code).toBe(0);
    expect(existsSync("/etc/in") && readFileSync("/etc/in", "utf8") === "in\n").toBe(false);
    expect((await w.husk(["cp", "cp-exited:/etc/in", join(d, "back")])).code).toBe(0);
    expect(readFileSync(join(d, "back"), "utf8")).toBe("in\n");
    // The write went to the container's own layer, and no mount of it is on the host.
    expect(readFileSync(join(w.dataRoot, "containers", c.id, "upper/etc/in"), "utf8")).toBe("in\n");
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(c.id);
    await c.remove();
    expect(w.leftovers(c.id)).toEqual([]);
  });

  test("bad input: one clear error, status 1", async () => {
    for (const [args, msg] of [
      [["cp", "/a", "/b"], "must specify at least one container"],
      [["cp", "nosuch:/a", host], "no such container"],
      [["cp", "x:/a", "y:/b"], "between containers"],
      [["cp", "onlyone"], "requires at least 2 arguments"],
    ] as const) {
      const r = await w.husk([...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(msg);
      expect(r.stderr.split("\n").length).toBe(2);
    }
  });
});
