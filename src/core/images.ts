/**
 * What the edge learned about container images, handed to rules as plain data: rules never do I/O.
 * The kubelet runs an image's Entrypoint and Cmd when a container sets no `command`, so these decide PID 1.
 */

/** One platform's image config: what runs when the container sets neither `command` nor `args`. */
export interface ImagePlatformConfig {
  /** `os/architecture[/variant]`, e.g. `linux/arm64/v8`. */
  platform: string;
  /** Digest of this platform's image manifest. */
  digest: string;
  /** The config's Entrypoint ([] when unset). */
  entrypoint: string[];
  /** The config's Cmd ([] when unset). */
  cmd: string[];
}

export type ImageInspection =
  | {
      status: 'inspected';
      /** The image as written in the container spec. */
      reference: string;
      /** Digest the reference resolved to (an index's digest for multi-platform images). */
      digest: string;
      /** Every platform checked; one entry for a single-platform image. */
      platforms: ImagePlatformConfig[];
    }
  | { status: 'uninspected'; reference: string; reason: string };

/** Inspections by the `image` string exactly as the container spec writes it. */
export type ImageFacts = ReadonlyMap<string, ImageInspection>;

export const NO_IMAGE_FACTS: ImageFacts = new Map();
