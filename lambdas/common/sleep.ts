/** Waits `ms` milliseconds. Its own module: the flow waits use it without loading the Data API's SDK. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
