import { BACKEND_FACTORIES } from '../../src/backends/registry.ts';

/** Flags that disable every backend but one, so a vendor's golden holds that vendor only. */
export function onlyBackend(name: string): string[] {
  return BACKEND_FACTORIES.filter((f) => f.name !== name).map((f) => `--no-backend.${f.name}`);
}
