/**
 * The preprocessing spec as a type: plain data that storage keeps, the schema serves and
 * datasets/ applies (datasets/preprocessing.ts parses and describes it; the steps are there).
 * Here, below all of them, so each can name it without importing upward.
 */
export type ResizeMode = 'bilinear' | 'nearest';
export const RESIZE_MODES: readonly ResizeMode[] = ['bilinear', 'nearest'];
export type ChannelOrder = 'RGB' | 'BGR';
export const CHANNEL_ORDERS: readonly ChannelOrder[] = ['RGB', 'BGR'];
export type Layout = 'NCHW' | 'NHWC';
export const LAYOUTS: readonly Layout[] = ['NCHW', 'NHWC'];
export type CastDtype = 'float32' | 'uint8' | 'int8';
export const CAST_DTYPES: readonly CastDtype[] = ['float32', 'uint8', 'int8'];

export interface Preprocessing {
  /** Multiplies every value first (1/255 turns 0..255 pixels into [0, 1]). */
  scale?: number;
  /** Subtracted per channel after scaling: one value, or one per channel (in the model's channel order). */
  mean?: number[];
  /** Divides per channel after the mean: one value, or one per channel. */
  std?: number[];
  /** The channel order the model takes; data is read as RGB, so BGR reverses the channels. */
  channelOrder?: ChannelOrder;
  /** The layout the samples are stored in (rank-3 samples); NHWC is transposed to NCHW. */
  layout?: Layout;
  /** Resize every image to size [H, W]. */
  resize?: { size: [number, number]; mode: ResizeMode };
  /** Cast after everything else: uint8/int8 round to nearest and clamp to the type's range. */
  dtype?: CastDtype;
  /** CSV: the label column by header name (default: the first column). */
  labelColumn?: string;
  /** Class names in index order (name i is label i), for named labels and image folders. */
  classes?: string[];
  /** The input range the model was trained on, [min, max]; the input-range check compares with it. */
  expectedRange?: [number, number];
}
