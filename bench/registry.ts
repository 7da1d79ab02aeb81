// Every benchmark, in one registration list. A benchmark emits one line per result.
export type Emit = (figures: Record<string, unknown>) => void;

export interface Bench {
  name: string;
  description: string;
  run(emit: Emit): Promise<void>;
}

export const benches: Bench[] = [];
