/** Exit codes shared by every command (a contract for CI pipelines). */
export const EXIT = { clean: 0, denied: 1, badInput: 2 } as const;
