//===- DQAttrs.td - dq quantizer configuration attributes -*- tablegen -*-===//

#ifndef DQ_ATTRS_TD
#define DQ_ATTRS_TD

include "DQBase.td"

class DQ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<DQ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def DQ_WeightQuantAttr : DQ_Attr<"WeightQuant", "weight_quant"> {
  let summary = "configuration of a weight quantizer";
  let description = [{
    `bits` (1 to 8) bits per weight and the training `scheme`: `dq` (latent
    weights, the basis fitted to the gradient step of the quantized weights),
    `dq_lean` (no latent weights, stochastic rounding) or `lqnets` (the
    LQ-Nets baseline).

    ```mlir
    #dq.weight_quant<bits = 2, scheme = dq>
    ```
  }];
  let parameters = (ins "unsigned":$bits,
                        EnumParameter<DQ_WeightScheme>:$scheme);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def DQ_ActQuantAttr : DQ_Attr<"ActQuant", "act_quant"> {
  let summary = "configuration of an activation quantizer";
  let description = [{
    `bits` (1 to 8) bits per activation, the fitting `scheme` (`dq` or
    `lqnets`), how channels are weighted in the level fit (`uniform`: every
    element counts the same; `energy`: elements of channel `c` get
    `1 / (mean(x_c^2) + eps)`, normalized to average 1) and `trim`, the
    fraction of channels with the largest relative error left out of the fit
    (in [0, 1)). `weighting` defaults to `energy` for `dq` and `uniform` for
    `lqnets`; `trim` defaults to 0.

    ```mlir
    #dq.act_quant<bits = 2, scheme = dq>
    #dq.act_quant<bits = 4, scheme = dq, weighting = energy, trim = 0.125>
    #dq.act_quant<bits = 2, scheme = lqnets>
    ```
  }];
  let parameters = (ins "unsigned":$bits,
                        EnumParameter<DQ_ActScheme>:$scheme,
                        EnumParameter<DQ_ChannelWeighting>:$weighting,
                        APFloatParameter<"fraction of channels left out">:$trim);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "unsigned":$bits, "ActScheme":$scheme), [{
      return $_get($_ctxt, bits, scheme,
                   scheme == ActScheme::DQ ? ChannelWeighting::Energy
                                           : ChannelWeighting::Uniform,
                   ::llvm::APFloat(0.0));
    }]>
  ];
}

#endif // DQ_ATTRS_TD
