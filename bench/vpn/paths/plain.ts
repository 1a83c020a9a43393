// Plain IP routing client → ingress → egress → server: the ceiling every tunnel is compared to.
import type { Testbed } from '../../../test/helpers/testbed.js';
import type { VpnPath, VpnPathSpec } from '../path.js';

class PlainPath implements VpnPath {
  private tb: Testbed | null = null;

  async setup(tb: Testbed): Promise<void> {
    this.tb = tb;
    await tb.setForwarding('routed');
  }

  pids(): Record<string, number> {
    return {}; // the kernel does the work; only the box total is meaningful
  }

  async teardown(): Promise<void> {
    await this.tb?.setForwarding('none');
  }
}

/** Plain routing, no tunnel. */
export const plainPath: VpnPathSpec = {
  name: 'plain',
  description: 'plain IP routing through ingress and egress (no tunnel)',
  create: () => new PlainPath(),
};
