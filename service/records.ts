/**
 * The stored records the service hands to the layers above (schema/ maps them to GraphQL
 * types, gate/ reads analysis statuses): storage/ owns their shape, and only service/ may import
 * storage/, so the records are named for the layers above here.
 */
export { TERMINAL_STATUSES } from '../storage/records.js';
export type { AnalysisRecord, AnalysisStatus, DatasetRecord, ModelRecord, TensorSummary } from '../storage/records.js';
export type { ZooItemRecord, ZooRecord, ZooRunRecord } from '../storage/zoos.js';
