//===- CountQuantizedLayers.h - a pass on dq's dialect ----------*- C++ -*-===//

#ifndef DOWNSTREAM_COUNTQUANTIZEDLAYERS_H
#define DOWNSTREAM_COUNTQUANTIZEDLAYERS_H

namespace downstream {

/// downstream-count-quantized-layers: records on the module, as
/// `downstream.quantized_layers`, how many weights dq-quantize quantized
/// (its dq.decode_weights ops).
void registerCountQuantizedLayersPass();

} // namespace downstream

#endif // DOWNSTREAM_COUNTQUANTIZEDLAYERS_H
