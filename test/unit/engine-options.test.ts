/** The engine's options and docker's flag values: parsing and type checks, pure. */
import { describe, expect, test } from "bun:test";
import { parse } from "../../src/cli/engine/args.ts";
import { checkRunOptions, parseBytes, parseCpus, parsePort, parseVolume } from "../../src/engine/options.ts";
import { resolveUser } from "../../src/engine/users.ts";
import { HuskError } from "../../src/errors.ts";

describe("docker values", () => {
  test("memory sizes", () => {
    expect(parseBytes("512m")).toBe(512 * 1024 ** 2);
    expect(parseBytes("1g")).toBe(1024 ** 3);
    expect(parseBytes("1GiB")).toBe(1024 ** 3);
    expect(parseBytes("100")).toBe(100);
    expect(() => parseBytes("1x")).toThrow(/invalid size "1x"/);
    expect(() => parseBytes(-1)).toThrow(HuskError);
  });
  test("cpus", () => {
    expect(parseCpus("0.5")).toBe(0.5);
    expect(() => parseCpus("-1")).toThrow(/invalid CPU count/);
    expect(() => parseCpus("0.001")).toThrow(/at least 0.01/);
  });
  test("ports", () => {
    expect(parsePort("80")).toEqual({ containerPort: 80, hostPort: 0, hostIp: "", proto: "tcp" });
    expect(parsePort("8080:80/udp")).toEqual({ containerPort: 80, hostPort: 8080, hostIp: "", proto: "udp" });
    expect(parsePort("127.0.0.1::53")).toEqual({ containerPort: 53, hostPort: 0, hostIp: "127.0.0.1", proto: "tcp" });
    expect(() => parsePort("70000")).toThrow(/container port/);
    expect(() => parsePort("80/sctp")).toThrow(/protocol/);
  });
  test("volumes", () => {
    expect(parseVolume("/a:/b:ro")).toEqual({ source: "/a", target: "/b", readOnly: true });
    expect(parseVolume("data:/d")).toEqual({ source: "data", target: "/d", readOnly: false });
    expect(() => parseVolume("data:rel")).toThrow(/absolute path/);
    expect(() => parseVolume("x:/d:rx")).toThrow(/ro or rw/);
    expect(() => parseVolume("bad name!:/d")).toThrow(/volume source/);
  });
});

describe("checkRunOptions", () => {
  test("wrong types name the option", () => {
    const cases: [unknown, RegExp][] = [
      [{ memory: {} }, /RunOptions\.memory: must be a number or a string/],
      [{ env: "A=1" }, /RunOptions\.env: must be an array of strings/],
      [{ env: { A: 1 } }, /RunOptions\.env\.A: must be a string/],
      [{ ports: [42] }, /RunOptions\.ports\[0\]/],
      [{ timeoutMs: -5 }, /RunOptions\.timeoutMs/],
      [{ readOnly: "yes" }, /RunOptions\.readOnly: must be a boolean/],
      [{ signal: {} }, /RunOptions\.signal: must be an AbortSignal/],
      [{ stdin: 5 }, /RunOptions\.stdin/],
      [{ name: "-x" }, /RunOptions\.name: invalid container name/],
      [{ capabilities: { add: ["FLY"] } }, /unknown capability "FLY"/],
      [{ ports: ["80"], network: "none" }, /cannot publish ports/],
      [{ pidsLimit: 1.5 }, /RunOptions\.pidsLimit/],
      [{ bogus: 1 }, /RunOptions\.bogus: unknown option/],
      ["x", /RunOptions: must be an object/],
    ];
    for (const [input, re] of cases) expect(() => checkRunOptions(input)).toThrow(re);
  });
  test("defaults and normal forms", () => {
    const o = checkRunOptions({ env: { A: "1" }, capabilities: { add: ["net_admin"], drop: ["ALL"] }, memory: "64m" });
    expect(o.env).toEqual(["A=1"]);
    expect(o.capAdd).toEqual(["CAP_NET_ADMIN"]);
    expect(o.capDrop).toEqual(["ALL"]);
    expect(o.memory).toBe(64 * 1024 ** 2);
    expect(o.network).toBe("bridge");
    expect(o.output).toBe("string");
  });
  test("DNS options: --add-host, --dns, --dns-search, --dns-option, --network-alias", () => {
    const o = checkRunOptions({
      network: "mynet",
      networkAliases: ["web", "www.local"],
      addHosts: ["db:10.0.0.2", "v6:fd00::1", "gw:host-gateway", "b=[::1]"],
      dns: ["10.0.0.53", "fd00::53"],
      dnsSearch: ["corp.test"],
      dnsOptions: ["ndots:2", "rotate"],
    });
    expect(o.networkAliases).toEqual(["web", "www.local"]);
    expect(o.addHosts).toEqual([
      { names: ["db"], address: "10.0.0.2" },
      { names: ["v6"], address: "fd00::1" },
      { names: ["gw"], address: "host-gateway" },
      { names: ["b"], address: "::1" },
    ]);
    expect(o.dns).toEqual(["10.0.0.53", "fd00::53"]);
    expect(checkRunOptions({ dnsSearch: ["."] }).dnsSearch).toEqual([]);
    expect(checkRunOptions({}).dns).toBeUndefined();
    const cases: [unknown, RegExp][] = [
      [{ addHosts: ["db"] }, /RunOptions\.addHosts: invalid extra host "db": NAME:IP/],
      [{ addHosts: ["db:1.2.3"] }, /RunOptions\.addHosts: .*not an IP address/],
      [{ addHosts: "db:1.2.3.4" }, /RunOptions\.addHosts: must be an array/],
      [{ dns: ["dns.google"] }, /RunOptions\.dns: invalid DNS server/],
      [{ dnsSearch: ["a b"] }, /RunOptions\.dnsSearch: invalid search domain/],
      [{ dnsOptions: ["ndots 2"] }, /RunOptions\.dnsOptions: invalid resolver option/],
      [{ networkAliases: ["x"] }, /RunOptions\.networkAliases: .*user-created network/],
      [{ networkAliases: ["x"], network: "ns:/run/netns/a" }, /RunOptions\.networkAliases/],
      [{ networkAliases: ["-x"], network: "n" }, /RunOptions\.networkAliases: invalid alias/],
    ];
    for (const [input, re] of cases) expect(() => checkRunOptions(input)).toThrow(re);
  });
});

describe("users from the image's files", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000::/app:/bin/sh\n";
  const group = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n";
  test("names, numbers, groups, supplementary groups", () => {
    expect(resolveUser("", passwd, group)).toEqual({ uid: 0, gid: 0 });
    expect(resolveUser("nobody", passwd, group)).toEqual({ uid: 65534, gid: 65534 });
    expect(resolveUser("app", passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000] });
    expect(resolveUser("4242", passwd, group)).toEqual({ uid: 4242, gid: 0 });
    expect(resolveUser("app:nogroup", passwd, group)).toEqual({ uid: 1000, gid: 65534, additionalGids: [2000] });
    expect(() => resolveUser("ghost", passwd, group)).toThrow(/unable to find user "ghost"/);
    expect(() => resolveUser("app:ghosts", passwd, group)).toThrow(/unable to find group/);
  });
});

describe("docker's command line rules", () => {
  const flags = [
    { name: "detach", short: "d", type: "bool" as const, help: "" },
    { name: "interactive", short: "i", type: "bool" as const, help: "" },
    { name: "env", short: "e", type: "list" as const, help: "" },
    { name: "network", type: "string" as const, aliases: ["net"], help: "" },
  ];
  test("combined shorts, values attached or not, aliases, stop at the image", () => {
    const p = parse(["-di", "-eA=1", "-e", "B=2", "--net=none", "busybox", "sh", "-c", "-x"], flags, true);
    expect(p.flags).toEqual({ detach: true, interactive: true, env: ["A=1", "B=2"], network: "none" });
    expect(p.positionals).toEqual(["busybox", "sh", "-c", "-x"]);
  });
  test("a short boolean with =false or =true, as pflag takes it", () => {
    expect(parse(["-d=false", "-i=true", "x"], flags, true).flags).toEqual({ detach: false, interactive: true });
    expect(() => parse(["-d=maybe"], flags, true)).toThrow('invalid argument "maybe"');
  });
  test("unknown flags", () => {
    expect(() => parse(["--nope"], flags, true)).toThrow("unknown flag: --nope");
    expect(() => parse(["-z"], flags, true)).toThrow(/unknown shorthand flag: 'z'/);
    expect(() => parse(["--network"], flags, true)).toThrow(/needs an argument/);
  });
});
