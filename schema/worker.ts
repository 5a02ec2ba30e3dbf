import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';
import type { WorkerHeartbeat } from '../service/distributed/registry.js';

@ObjectType('WorkerJob', { description: 'An analysis a worker is running.' })
export class WorkerJobType {
  @Field(() => ID)
  analysisId!: string;

  @Field(() => String)
  analyzer!: string;

  @Field(() => DateTimeScalar)
  startedAt!: Date;
}

@ObjectType('Worker', { description: 'An `onnxscope worker` process taking jobs from the queue (BullMQ mode), as of its last heartbeat.' })
export class WorkerType {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'Host name of the machine it runs on.' })
  host!: string;

  @Field(() => Int)
  pid!: number;

  @Field(() => String)
  onnxruntimeVersion!: string;

  @Field(() => String, { nullable: true, description: 'Execution provider its sessions use: cuda or cpu (null if not yet known).' })
  executionProvider!: string | null;

  @Field(() => String, { description: 'What ONNXSCOPE_EP asks for on that machine: auto, cuda or cpu.' })
  requestedProvider!: string;

  @Field(() => Int, { description: 'Jobs it runs at once.' })
  concurrency!: number;

  @Field(() => [WorkerJobType], { description: 'The analyses it is running now.' })
  currentJobs!: WorkerJobType[];

  @Field(() => DateTimeScalar)
  startedAt!: Date;

  @Field(() => DateTimeScalar)
  lastHeartbeat!: Date;

  static from(w: WorkerHeartbeat): WorkerType {
    return Object.assign(new WorkerType(), {
      id: w.id,
      host: w.host,
      pid: w.pid,
      onnxruntimeVersion: w.runtime.onnxruntimeVersion,
      executionProvider: w.runtime.providerInUse,
      requestedProvider: w.runtime.requested,
      concurrency: w.concurrency,
      currentJobs: w.currentJobs.map((j) => Object.assign(new WorkerJobType(), { ...j, startedAt: new Date(j.startedAt) })),
      startedAt: new Date(w.startedAt),
      lastHeartbeat: new Date(w.lastHeartbeat),
    });
  }
}
