import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { ModelRecord, TensorSummary } from '../service/records.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A graph input or output.' })
export class TensorInfo {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'ONNX element type, e.g. float32.' })
  dtype!: string;

  @Field(() => [String], {
    nullable: true,
    description: 'Dims: sizes as decimal strings, symbolic dims by name (e.g. "batch"), "?" when unknown; null when the rank is unknown.',
  })
  shape!: string[] | null;

  static from(t: TensorSummary): TensorInfo {
    return Object.assign(new TensorInfo(), {
      name: t.name,
      dtype: t.dtype,
      shape: t.shape ? t.shape.map((d) => (d === null ? '?' : String(d))) : null,
    });
  }
}

@ObjectType()
export class OpsetImport {
  @Field(() => String, { description: '"" is the default ai.onnx domain.' })
  domain!: string;

  @Field(() => Int)
  version!: number;
}

@ObjectType()
export class OpCount {
  @Field(() => String)
  opType!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class Producer {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  version!: string;
}

@ObjectType('Model', { description: 'An uploaded ONNX model; the same bytes are stored once.' })
export class ModelType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  sha256!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  sizeBytes!: number;

  @Field(() => Int)
  irVersion!: number;

  @Field(() => [OpsetImport])
  opsetImports!: OpsetImport[];

  @Field(() => Producer)
  producer!: Producer;

  @Field(() => [TensorInfo])
  inputs!: TensorInfo[];

  @Field(() => [TensorInfo])
  outputs!: TensorInfo[];

  @Field(() => Int, { description: 'Elements of the floating-point initializers.' })
  parameterCount!: number;

  @Field(() => [OpCount], { description: 'Nodes per op type, most frequent first.' })
  opHistogram!: OpCount[];

  @Field(() => Boolean, { description: 'Whether every op has a gradient rule (gradient/Hessian analyzers need it).' })
  autodiffSupported!: boolean;

  @Field(() => [String])
  unsupportedOps!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  static from(m: ModelRecord): ModelType {
    const s = m.summary;
    return Object.assign(new ModelType(), {
      id: m.id,
      sha256: m.sha256,
      name: m.name,
      sizeBytes: m.sizeBytes,
      irVersion: s.irVersion,
      opsetImports: s.opsetImports,
      producer: s.producer,
      inputs: s.inputs.map(TensorInfo.from),
      outputs: s.outputs.map(TensorInfo.from),
      parameterCount: s.parameterCount,
      opHistogram: s.opHistogram,
      autodiffSupported: s.autodiffSupported,
      unsupportedOps: s.unsupportedOps,
      createdAt: m.createdAt,
    });
  }
}

@ObjectType({ description: 'A tensor the saliency analyzer can map (a value for its layer param).' })
export class SaliencyLayer {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  op!: string;

  @Field(() => String, { description: 'conv, activation, normalization, bias, pooling or residual.' })
  kind!: string;

  @Field(() => [Int], { description: 'Shape without the batch axis.' })
  shape!: number[];

  @Field(() => Int)
  height!: number;

  @Field(() => Int)
  width!: number;
}

