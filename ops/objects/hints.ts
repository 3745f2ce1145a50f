/** Renders a follow-up command to suggest; pasted as printed, it acts on the same pipeline. */
export type CommandHint = (args: string) => string;

export const plainHint: CommandHint = (args) => `npm run objects -- ${args}`;
