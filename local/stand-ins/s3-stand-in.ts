import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  HttpStandInServer,
  type RequestCheck,
  restXml,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
  type StandInChecksOptions,
} from './http-service';

/** S3's limits on what this stand-in accepts (Amazon S3 User Guide: object keys; PutObject). */
export const S3_MAX_KEY_BYTES = 1024;
/** The largest object one PutObject may upload: 5 GB. */
export const S3_MAX_PUT_OBJECT_BYTES = 5 * 1024 ** 3;

export interface S3Call {
  operation: string;
  bucket: string;
  key: string;
}

interface StoredObject {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
  checksumCrc32?: string;
}

export interface S3StandInOptions extends StandInChecksOptions {
  /**
   * The largest object PutObject accepts; tests lower it to see the refusal without 5 GB.
   * @default S3_MAX_PUT_OBJECT_BYTES
   */
  readonly maxObjectBytes?: number;
}

const header = (request: ServiceRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Amazon S3 (REST-XML, path-style requests as the SDK sends them to an IP-address endpoint):
 * GetObject and PutObject on the buckets of the template, nothing else. The shared layer has
 * no model for REST-XML, so S3's constraints are checked here by hand, as S3 checks them:
 * - a bucket the template does not define is NoSuchBucket (404);
 * - a key over 1,024 bytes of UTF-8 is KeyTooLongError, an object over the PutObject limit
 *   EntityTooLarge;
 * - a body that does not match its Content-MD5, x-amz-checksum-crc32 or signed payload hash
 *   is BadDigest / XAmzContentSHA256Mismatch;
 * - reading a key that does not exist is NoSuchKey (404) only for a caller allowed
 *   s3:ListBucket on the bucket; anyone else gets AccessDenied (403), so nobody learns from
 *   S3 which keys exist.
 */
export class S3StandIn {
  readonly calls: S3Call[] = [];
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private readonly server: HttpStandInServer;
  private readonly checks: readonly RequestCheck[];
  private readonly maxObjectBytes: number;

  constructor(buckets: readonly string[], options: S3StandInOptions = {}) {
    for (const bucket of buckets) this.objects.set(bucket, new Map());
    this.checks = options.checks ?? [];
    this.maxObjectBytes = options.maxObjectBytes ?? S3_MAX_PUT_OBJECT_BYTES;
    this.server = new HttpStandInServer('S3', (request) => this.handle(request), {
      awsService: 's3',
      checks: this.checks,
    });
  }

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** An object's text, for the runner and tests (as the account's operator reads it). */
  readText(bucket: string, key: string): string | undefined {
    return this.objects.get(bucket)?.get(key)?.body.toString('utf8');
  }

  /** Every key of a bucket under a prefix, sorted as S3 lists them. */
  keys(bucket: string, prefix = ''): string[] {
    return [...(this.objects.get(bucket)?.keys() ?? [])].filter((key) => key.startsWith(prefix)).sort();
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const [, bucket = '', ...rest] = request.path.split('/');
    const key = rest.join('/');
    const operation = request.method === 'GET' ? 'GetObject' : 'PutObject';
    this.calls.push({ operation, bucket, key });
    try {
      const objects = this.objects.get(bucket);
      if (!objects) {
        throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, {
          BucketName: bucket,
        });
      }
      if (Buffer.byteLength(key, 'utf8') > S3_MAX_KEY_BYTES) {
        throw new ServiceError('KeyTooLongError', 'Your key is too long', 400, {
          Size: Buffer.byteLength(key, 'utf8'),
          MaxSizeAllowed: S3_MAX_KEY_BYTES,
        });
      }
      return operation === 'GetObject'
        ? await this.getObject(request, objects, bucket, key)
        : this.putObject(request, objects, key);
    } catch (error) {
      if (error instanceof ServiceError) return restXml.error(error);
      throw error;
    }
  }

  private putObject(
    request: ServiceRequest,
    objects: Map<string, StoredObject>,
    key: string,
  ): ServiceResponse {
    if (header(request, 'content-encoding')?.includes('aws-chunked')) {
      throw new ServiceError('NotImplemented', 'aws-chunked uploads are not simulated', 501);
    }
    const body = request.rawBody ?? Buffer.alloc(0);
    if (body.length > this.maxObjectBytes) {
      throw new ServiceError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400, {
        ProposedSize: body.length,
        MaxSizeAllowed: this.maxObjectBytes,
      });
    }
    const md5 = createHash('md5').update(body);
    const md5Base64 = md5.copy().digest('base64');
    const contentMd5 = header(request, 'content-md5');
    if (contentMd5 !== undefined && contentMd5 !== md5Base64) {
      throw new ServiceError(
        'BadDigest',
        'The Content-MD5 you specified did not match what we received.',
        400,
      );
    }
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    const checksumCrc32 = crc.toString('base64');
    const sentCrc32 = header(request, 'x-amz-checksum-crc32');
    if (sentCrc32 !== undefined && sentCrc32 !== checksumCrc32) {
      throw new ServiceError(
        'BadDigest',
        'The CRC32 you specified did not match the calculated checksum.',
        400,
      );
    }
    const contentSha256 = header(request, 'x-amz-content-sha256');
    if (
      contentSha256 !== undefined &&
      /^[0-9a-f]{64}$/.test(contentSha256) &&
      contentSha256 !== createHash('sha256').update(body).digest('hex')
    ) {
      throw new ServiceError(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
      );
    }
    const etag = `"${md5.digest('hex')}"`;
    objects.set(key, {
      body,
      contentType: header(request, 'content-type') ?? 'binary/octet-stream',
      etag,
      lastModified: new Date(),
      ...(sentCrc32 ? { checksumCrc32 } : {}),
    });
    return {
      status: 200,
      headers: {
        etag,
        // Every bucket of the stack encrypts with S3-managed keys by default.
        'x-amz-server-side-encryption': 'AES256',
        ...(sentCrc32 ? { 'x-amz-checksum-crc32': checksumCrc32 } : {}),
      },
      body: '',
    };
  }

  private async getObject(
    request: ServiceRequest,
    objects: Map<string, StoredObject>,
    bucket: string,
    key: string,
  ): Promise<ServiceResponse> {
    const object = objects.get(key);
    if (!object) {
      await this.refuseUnlessListable(request, bucket, key);
      throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    }
    const wantsChecksum = header(request, 'x-amz-checksum-mode') === 'ENABLED';
    return {
      status: 200,
      headers: {
        'content-type': object.contentType,
        etag: object.etag,
        'last-modified': object.lastModified.toUTCString(),
        'accept-ranges': 'bytes',
        'x-amz-server-side-encryption': 'AES256',
        ...(wantsChecksum && object.checksumCrc32 ? { 'x-amz-checksum-crc32': object.checksumCrc32 } : {}),
      },
      body: object.body,
    };
  }

  /**
   * S3 tells a caller that a key does not exist only if it may list the bucket; the caller's
   * checks (the IAM gate) decide, on the ListObjectsV2 request that listing would be.
   */
  private async refuseUnlessListable(request: ServiceRequest, bucket: string, key: string): Promise<void> {
    const listing = {
      ...request,
      method: 'GET',
      path: `/${bucket}`,
      query: new URLSearchParams({ 'list-type': '2', prefix: key }),
    };
    for (const check of this.checks)
      await check({ service: 's3', operation: 'ListObjectsV2', request: listing });
  }
}
