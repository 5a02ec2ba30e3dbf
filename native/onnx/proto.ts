// The ONNX protobuf schema, compiled to JavaScript by the onnx-proto package (protobufjs).
// Everything else in the code base goes through ir.ts; only this folder touches the proto types.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = InstanceType<typeof onnxProto.onnx.ModelProto>;
export type GraphProto = InstanceType<typeof onnxProto.onnx.GraphProto>;
export type NodeProto = InstanceType<typeof onnxProto.onnx.NodeProto>;
export type TensorProto = InstanceType<typeof onnxProto.onnx.TensorProto>;
export type AttributeProto = InstanceType<typeof onnxProto.onnx.AttributeProto>;
export type ValueInfoProto = InstanceType<typeof onnxProto.onnx.ValueInfoProto>;
