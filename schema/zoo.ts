/** GraphQL types of model zoos (service/zooService.ts): zoos, their models with phase metrics, runs, phase diagrams. */
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, JSONScalar } from './scalars.js';
import { ModelType } from './model.js';
import type { ZooRecord, ZooRunRecord, ZooItemRecord } from '../service/records.js';
import type { ZooModelView, ZooProgress } from '../service/zooService.js';
import type { PhaseLabel, PhaseThresholds } from '../service/zooPhases.js';
import type { PhaseDiagram } from '../service/zooDiagram.js';

@ObjectType('Zoo', { description: 'A named population of models with hyperparameters.' })
export class ZooType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true, description: 'The load-like hyperparameter (e.g. width): x axis of phase diagrams.' })
  loadAxis!: string | null;

  @Field(() => String, { nullable: true, description: 'The temperature-like hyperparameter (batch size or learning rate): y axis.' })
  temperatureAxis!: string | null;

  @Field(() => JSONScalar, { description: 'Free-form metadata from the manifest.' })
  metadata!: Record<string, unknown>;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  static from(z: ZooRecord): ZooType {
    return Object.assign(new ZooType(), { id: z.id, name: z.name, loadAxis: z.axes.load, temperatureAxis: z.axes.temperature, metadata: z.metadata, createdAt: z.createdAt });
  }
}

@ObjectType({ description: 'Phase metrics of a zoo model (null where the analysis has not run or failed).' })
export class ZooMetrics {
  @Field(() => Float, { nullable: true }) trainLoss!: number | null;
  @Field(() => Float, { nullable: true }) trainAccuracy!: number | null;
  @Field(() => Float, { nullable: true }) testLoss!: number | null;
  @Field(() => Float, { nullable: true }) testAccuracy!: number | null;
  @Field(() => Float, { nullable: true, description: 'Top Hessian eigenvalue (hessian analyzer).' }) hessianTop!: number | null;
  @Field(() => Float, { nullable: true, description: 'Hessian trace estimate.' }) hessianTrace!: number | null;
  @Field(() => Float, { nullable: true, description: 'Mode connectivity with the seed partner on the trained Bezier curve (Yang et al.).' }) mc!: number | null;
  @Field(() => Float, { nullable: true, description: 'Mode connectivity on the straight line.' }) mcLinear!: number | null;
  @Field(() => Float, { nullable: true }) barrier!: number | null;
  @Field(() => Float, { nullable: true, description: 'Linear CKA with the seed partner.' }) cka!: number | null;
  @Field(() => Float, { nullable: true, description: 'Mean power-law alpha of the layer ESDs (weights analyzer).' }) weightsAlpha!: number | null;
  @Field(() => Float, { nullable: true, description: 'Mean alpha-weighted (alpha · log10 λ_max) of the layers.' }) weightsAlphaWeighted!: number | null;
  @Field(() => Float, { nullable: true, description: 'Eigenvalues above the Marchenko–Pastur bulk, summed over layers.' }) weightsSpikes!: number | null;
}

@ObjectType('PhaseThresholds', { description: 'The thresholds a phase label was decided with.' })
export class PhaseThresholdsType {
  @Field(() => Float) lossThreshold!: number;
  @Field(() => Float, { nullable: true, description: 'null only when no model has a Hessian eigenvalue.' }) sharpnessThreshold!: number | null;
  @Field(() => Float) mcTolerance!: number;
  @Field(() => Float) ckaThreshold!: number;
}

@InputType({ description: 'Phase thresholds; anything left out takes its default (see service/zooPhases.ts).' })
export class PhaseThresholdsInput implements Partial<PhaseThresholds> {
  @Field(() => Float, { nullable: true, description: 'Training loss above this is high (default 0.1).' }) lossThreshold?: number;
  @Field(() => Float, { nullable: true, description: 'Top eigenvalue above this is sharp (default: the zoo median).' }) sharpnessThreshold?: number;
  @Field(() => Float, { nullable: true, description: '|mc| at most this is mc ~ 0 (default 0.05).' }) mcTolerance?: number;
  @Field(() => Float, { nullable: true, description: 'CKA at or above this is high (default 0.9).' }) ckaThreshold?: number;
}

@ObjectType('PhaseLabel', { description: "A phase label after Yang et al. (2021), Table 1, with how it was decided." })
export class PhaseLabelType {
  @Field(() => String, { nullable: true, description: 'I, II, III, IV-A, IV-B (IV without CKA); null when a needed metric is missing.' })
  label!: string | null;

  @Field(() => String)
  reason!: string;

  @Field(() => Boolean, { nullable: true }) highLoss!: boolean | null;
  @Field(() => Boolean, { nullable: true }) sharp!: boolean | null;
  @Field(() => String, { nullable: true, description: 'poor (mc < -tol), well (|mc| <= tol), dip (mc > tol).' }) connectivity!: string | null;
  @Field(() => Boolean, { nullable: true }) highCka!: boolean | null;
  @Field(() => PhaseThresholdsType) thresholds!: PhaseThresholdsType;
  @Field(() => [String]) missing!: string[];
  @Field(() => [String]) notes!: string[];

  static from(p: PhaseLabel): PhaseLabelType {
    return Object.assign(new PhaseLabelType(), p, { thresholds: Object.assign(new PhaseThresholdsType(), p.thresholds) });
  }
}

@ObjectType('ZooModel', { description: 'One model of a zoo.' })
export class ZooModelType {
  @Field(() => ModelType) model!: ModelType;
  @Field(() => Int) position!: number;
  @Field(() => String, { description: 'The file name in the manifest.' }) file!: string;
  @Field(() => JSONScalar) hyperparameters!: Record<string, number | string>;
  @Field(() => ID, { nullable: true, description: 'The seed partner (same hyperparameters, other seed).' }) partnerModelId!: string | null;
  @Field(() => ZooMetrics) metrics!: ZooMetrics;
  @Field(() => PhaseLabelType) phase!: PhaseLabelType;

  static from(v: ZooModelView): ZooModelType {
    return Object.assign(new ZooModelType(), {
      model: ModelType.from(v.model),
      position: v.member.position,
      file: v.member.file,
      hyperparameters: v.member.hyperparameters,
      partnerModelId: v.partnerModelId,
      metrics: Object.assign(new ZooMetrics(), v.metrics),
      phase: PhaseLabelType.from(v.phase),
    });
  }
}

@InputType({ description: 'Keep models whose metric (or numeric hyperparameter) lies in [min, max].' })
export class MetricFilterInput {
  @Field(() => String) metric!: string;
  @Field(() => Float, { nullable: true }) min?: number | null;
  @Field(() => Float, { nullable: true }) max?: number | null;
}

@ObjectType({ description: 'An item of a zoo run that failed (the run goes on without it).' })
export class ZooFailure {
  @Field(() => ID) modelId!: string;
  @Field(() => String) analyzer!: string;
  @Field(() => String, { description: 'train, test, or pair:<partner model id>.' }) role!: string;
  @Field(() => ID, { nullable: true }) analysisId!: string | null;
  @Field(() => String) code!: string;
  @Field(() => String) message!: string;

  static from(i: ZooItemRecord): ZooFailure {
    return Object.assign(new ZooFailure(), {
      modelId: i.modelId, analyzer: i.analyzer, role: i.role, analysisId: i.analysisId || null, code: i.error?.code ?? 'INTERNAL', message: i.error?.message ?? '',
    });
  }
}

@ObjectType('ZooRun', { description: 'A batch analysis over a zoo: one job per model and analyzer.' })
export class ZooRunType {
  @Field(() => ID) id!: string;
  @Field(() => ID) zooId!: string;
  @Field(() => String, { description: 'RUNNING or FINISHED.' }) status!: string;
  @Field(() => [String]) analyzers!: string[];
  @Field(() => JSONScalar) params!: Record<string, unknown>;
  @Field(() => ID) datasetId!: string;
  @Field(() => ID, { nullable: true }) testDatasetId!: string | null;
  @Field(() => Int) concurrency!: number;
  @Field(() => Int) total!: number;
  @Field(() => Int, { description: 'Items ended (succeeded or failed).' }) done!: number;
  @Field(() => Int) succeeded!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int) running!: number;
  @Field(() => Int) pending!: number;
  @Field(() => Int, { description: 'Succeeded items answered from the results cache.' }) cached!: number;
  @Field(() => String, { description: '"k of N".' }) progressText!: string;
  @Field(() => Float, { description: 'done / total.' }) progress!: number;
  @Field(() => [ZooFailure]) failures!: ZooFailure[];
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true }) finishedAt!: Date | null;

  static from(r: ZooRunRecord, p: ZooProgress, failures: ZooItemRecord[]): ZooRunType {
    return Object.assign(new ZooRunType(), {
      id: r.id, zooId: r.zooId, status: r.status, analyzers: r.spec.analyzers, params: r.spec.params, datasetId: r.spec.datasetId,
      testDatasetId: r.spec.testDatasetId, concurrency: r.concurrency, total: p.total, done: p.done, succeeded: p.succeeded, failed: p.failed,
      running: p.running, pending: p.pending, cached: p.cached, progressText: p.text, progress: p.total ? p.done / p.total : 1,
      failures: failures.map(ZooFailure.from), createdAt: r.createdAt, finishedAt: r.finishedAt,
    });
  }
}

@ObjectType('PhaseDiagram', { description: 'One metric over two hyperparameter axes (cell = mean over the models there).' })
export class PhaseDiagramType {
  @Field(() => String) metric!: string;
  @Field(() => String) xAxis!: string;
  @Field(() => String) yAxis!: string;
  @Field(() => [String]) xValues!: string[];
  @Field(() => [String]) yValues!: string[];
  @Field(() => [[Float]], { nullable: 'itemsAndList', description: 'values[j][i] at xValues[i], yValues[j]; null cells have no data.' })
  values!: Array<Array<number | null>>;
  @Field(() => [[Int]]) counts!: number[][];
  @Field(() => Float, { nullable: true, description: 'The diverging scale is white here (mc: 0; loss, sharpness, CKA: their thresholds).' })
  centre!: number | null;
  @Field(() => [[String]], { nullable: 'itemsAndList', description: "metric 'phase': the majority phase label of each cell (null cells have none)." })
  labels!: Array<Array<string | null>> | null;
  @Field(() => String, { description: 'Heatmap, SVG text.' }) svg!: string;

  static from(d: PhaseDiagram): PhaseDiagramType {
    return Object.assign(new PhaseDiagramType(), d);
  }
}

@InputType()
export class RunZooAnalysisInput {
  @Field(() => ID) zooId!: string;
  @Field(() => [String], { nullable: true, description: 'Default: evaluate, hessian, landscape.' }) analyzers?: string[] | null;
  @Field(() => JSONScalar, { nullable: true, description: 'Params per analyzer, e.g. {"hessian": {"maxIter": 30}}.' }) params?: Record<string, Record<string, unknown>> | null;
  @Field(() => ID, { description: 'Training set: evaluate (train), hessian, landscape.' }) datasetId!: string;
  @Field(() => ID, { nullable: true, description: 'Test set: evaluate (test loss and accuracy).' }) testDatasetId?: string | null;
  @Field(() => Int, { nullable: true, description: 'Jobs of this run in flight at once (default 2).' }) concurrency?: number | null;
}
