import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('RuntimeInfo', { description: 'The ONNX Runtime the worker processes use (they run the analyses).' })
export class RuntimeInfoType {
  @Field(() => String)
  onnxruntimeVersion!: string;

  @Field(() => [String], { description: 'Execution providers this build of onnxruntime-node offers.' })
  providersAvailable!: string[];

  @Field(() => String, { nullable: true, description: 'The provider sessions actually use: cuda, or cpu (also after a failed CUDA attempt). Null if unknown.' })
  providerInUse!: string | null;

  @Field(() => String, { description: 'What ONNXSCOPE_EP asks for: auto, cuda or cpu.' })
  requested!: string;

  @Field(() => String, { nullable: true, description: 'Why CUDA is not in use, when it was tried and failed.' })
  fallbackReason!: string | null;

  @Field(() => Int, { nullable: true, description: 'Intra-op threads per session; null = ONNX Runtime default (one per physical core).' })
  intraOpThreads!: number | null;

  @Field(() => Int, { nullable: true, description: 'Inter-op threads per session; null = ONNX Runtime default.' })
  interOpThreads!: number | null;

  @Field(() => Int, { description: 'Worker processes running analyses (local pool, or onnxscope workers heard from).' })
  workers!: number;
}
