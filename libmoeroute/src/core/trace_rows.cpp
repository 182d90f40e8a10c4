#include "core/trace_rows.h"

namespace moeroute::detail {

RouterTrace without_rows(const RouterTrace& t) {
  RouterTrace out;
  out.meta = t.meta;
  out.layers = t.layers;
  out.num_experts = t.num_experts;
  out.top_k = t.top_k;
  out.logits_kind = t.logits_kind;
  out.id_space = t.id_space;
  out.num_logical_experts = t.num_logical_experts;
  out.physical_to_logical = t.physical_to_logical;
  return out;
}

}  // namespace moeroute::detail
