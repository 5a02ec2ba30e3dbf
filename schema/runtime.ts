import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('RuntimeInfo', { description: 'The ONNX Runtime the workers use.' })
export class RuntimeInfoType {
  @Field(() => String)
  onnxruntimeVersion!: string;

  @Field(() => [String], { description: 'Execution providers this build of onnxruntime-node offers.' })
  providersAvailable!: string[];

  @Field(() => String, { description: 'The provider sessions actually use (cuda after a successful probe, else cpu).' })
  providerInUse!: string;

  @Field(() => String, { nullable: true, description: 'Why the preferred provider is not in use, when it is not.' })
  fallbackReason!: string | null;

  @Field(() => Int, { description: 'Intra-op threads per session (0 = ONNX Runtime decides).' })
  threads!: number;

  @Field(() => Int, { description: 'Worker processes running analyses.' })
  workers!: number;
}
