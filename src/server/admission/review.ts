import { asString, getPath, isObject, objectName } from '../../core/types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The parts of an admission.k8s.io/v1 AdmissionRequest that the webhook reads; nothing else is trusted. */
export interface AdmissionRequest {
  uid: string;
  operation: string;
  /** `request.kind.kind`, or the object's kind. */
  kind: string;
  namespace?: string;
  name: string;
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  patchType?: 'JSONPatch';
  patch?: string;
}

export class BadReviewError extends Error {
  override name = 'BadReviewError';
}

/** Fills in `kind` from the request when the object lacks it, so the rules recognise the workload. */
function withKind(object: unknown, kind: string): unknown {
  return isObject(object) && object.kind === undefined && kind !== '' ? { ...object, kind } : object;
}

/** Reads an AdmissionReview body; anything that cannot be answered with a uid is a BadReviewError (400). */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new BadReviewError('expected an AdmissionReview JSON object');
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    throw new BadReviewError(`expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview`);
  }
  const request = body.request;
  if (!isObject(request)) throw new BadReviewError('AdmissionReview has no request');
  const uid = asString(request.uid);
  if (uid === undefined || uid === '') throw new BadReviewError('AdmissionReview request has no uid');
  const kind = asString(getPath(request, ['kind', 'kind'])) ?? asString(getPath(request.object, ['kind'])) ?? '';
  const namespace = asString(request.namespace) || undefined;
  return {
    uid,
    operation: asString(request.operation) ?? '',
    kind,
    ...(namespace === undefined ? {} : { namespace }),
    name: asString(request.name) || objectName(request.object),
    object: withKind(request.object, kind),
    oldObject: withKind(request.oldObject, kind),
    dryRun: request.dryRun === true,
  };
}

export function toAdmissionReview(response: AdmissionResponse) {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
