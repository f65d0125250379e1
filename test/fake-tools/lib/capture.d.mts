export function readCapture(path: string): Map<string, string>;
export function parseHeader(line: string): { name: string; unit?: string }[];
export function answerQuery(
  sections: Map<string, string>,
  state: string,
  kind: 'query-gpu' | 'query-compute-apps',
  fields: string[],
  format: string[],
  opts?: { gpus?: number; lostLast?: boolean; values?: Record<string, string> },
): { code: number; text: string };
