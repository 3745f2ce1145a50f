// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); Node 20 still runs the project.
type Resolvers<T> = { promise: Promise<T>; resolve: (value: T) => void; reject: (reason?: unknown) => void };
const promiseConstructor = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (!promiseConstructor.withResolvers) {
  promiseConstructor.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
// The warehouse's `timestamp` columns hold UTC; read them back as UTC whatever the machine's zone.
process.env.TZ = 'UTC';
