// Shell access to the testbed (docs/testbed.md):
//
//   node dist/test/helpers/testbed-cli.js up [--routed|--tunnel] [--no-ipv6]
//        [--loss LINK=PCT]... [--rate LINK=MBIT]...
//     Builds a testbed, prints one JSON line {id, ns, addr, holderPid}, and holds it until
//     SIGINT/SIGTERM/SIGHUP, then removes it. Use `ip netns exec <ns> …` meanwhile.
//   node dist/test/helpers/testbed-cli.js down [ID]
//     Without ID: removes namespaces of dead runs (`mq-<pid>-*` whose pid is gone).
//     With ID (`mq-<pid>-<seq>`): removes that testbed's namespaces and their processes.
//
// The holder is a `sleep infinity` inside the client namespace: it keeps this process alive
// and gives tests a process inside the testbed whose cleanup they can check.
import { readFileSync } from 'node:fs';
import { Testbed, LINKS, type ForwardingMode, type LinkName, type LinkShaping } from './testbed.js';
import { killAndDeleteNamespace, listNamespaces, sweepStale } from './testbed-cleanup.js';

function parseLinkValue(v: string | undefined, flag: string): [LinkName, number] {
  const [link, num] = (v ?? '').split('=');
  if (!LINKS.includes(link as LinkName) || !num || !Number.isFinite(Number(num))) {
    throw new Error(`${flag} wants LINK=NUMBER with LINK one of ${LINKS.join(', ')}`);
  }
  return [link as LinkName, Number(num)];
}

async function up(argv: string[]): Promise<void> {
  let forwarding: ForwardingMode = 'none';
  let ipv6 = true;
  const links: Partial<Record<LinkName, LinkShaping>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--routed') forwarding = 'routed';
    else if (a === '--tunnel') forwarding = 'tunnel';
    else if (a === '--no-ipv6') ipv6 = false;
    else if (a === '--loss' || a === '--rate') {
      const [link, n] = parseLinkValue(argv[++i], a);
      links[link] = { ...links[link], ...(a === '--loss' ? { lossPct: n } : { rateMbit: n }) };
    } else throw new Error(`unknown option ${a}`);
  }
  const tb = await Testbed.create({ ipv6, forwarding, links });
  const holder = tb.spawn('client', 'sleep', ['infinity']);
  holder.once('exit', () => {
    // Someone killed the holder: nothing left to hold for.
    void tb.dispose().then(() => process.exit(0));
  });
  // Announce the holder only once it runs `sleep`: before that, `ip netns exec` and setpriv
  // are still on their way, and a SIGKILL of this process in that window leaves a holder
  // whose pdeathsig was set after its parent died, so it never fires (a CI run hit this).
  await untilRunning(holder.pid, 'sleep');
  console.log(JSON.stringify({ id: tb.id, ns: tb.ns, addr: tb.addr, holderPid: holder.pid }));
}

/** Waits until /proc/PID/comm is `comm` (the exec happened), for at most 5 s. */
async function untilRunning(pid: number | undefined, comm: string): Promise<void> {
  for (const end = Date.now() + 5000; pid !== undefined && Date.now() < end; await new Promise((r) => setTimeout(r, 5))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) return;
    } catch {
      return; // gone already: the exit handler takes over
    }
  }
}

function down(argv: string[]): void {
  const id = argv[0];
  if (!id) {
    for (const n of sweepStale()) console.log(`removed ${n}`);
    return;
  }
  if (!/^mq-\d+-\d+$/.test(id)) throw new Error('ID looks like mq-<pid>-<seq>');
  for (const n of listNamespaces().filter((x) => x.startsWith(`${id}-`))) {
    killAndDeleteNamespace(n);
    console.log(`removed ${n}`);
  }
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'up') await up(rest);
  else if (cmd === 'down') down(rest);
  else {
    console.error('usage: testbed-cli up [--routed|--tunnel] [--no-ipv6] [--loss LINK=PCT] [--rate LINK=MBIT] | down [ID]');
    process.exitCode = 2;
  }
}

main().catch((e: unknown) => {
  console.error(`testbed-cli: ${(e as Error).message}`);
  process.exit(1);
});
