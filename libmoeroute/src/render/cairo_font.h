// Font selection shared by the cairo backend and text measurement.
#pragma once

#include <cairo.h>

#include "canvas.h"

namespace moeroute::plot::detail {

/// Selects kFontFamily at font.size with unhinted metrics on cr.
void apply_font(cairo_t* cr, const Font& font);

}  // namespace moeroute::plot::detail
