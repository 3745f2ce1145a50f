import type { MapStorage } from '../../../../local/runner/distributed-map';

/** An in-memory S3 for a Distributed Map's ItemReader and ResultWriter (the S3 stand-in has its own tests). */
export function memoryStorage(
  objects = new Map<string, string>(),
): MapStorage & { objects: Map<string, string> } {
  return {
    objects,
    async getObject(bucket, key) {
      const text = objects.get(`${bucket}/${key}`);
      if (text === undefined) throw new Error(`NoSuchKey: ${key}`);
      return text;
    },
    async putObject(bucket, key, body) {
      objects.set(`${bucket}/${key}`, body);
    },
  };
}
