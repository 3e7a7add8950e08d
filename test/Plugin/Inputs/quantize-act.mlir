func.func @act(%x: tensor<7xf32>, %u: tensor<2xf32>) -> tensor<7xf32> {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 0 : (tensor<7xf32>, tensor<2xf32>) -> tensor<7xf32>
  return %q : tensor<7xf32>
}
