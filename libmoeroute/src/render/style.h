// The look shared by every plot: font sizes, spacing and neutral colours (figure units).
#pragma once

#include "canvas.h"

namespace moeroute::plot::detail::style {

inline constexpr Font kTickFont{10, false};   ///< tick labels, legend, colorbar ticks
inline constexpr Font kLabelFont{12, false};  ///< axis and colorbar labels
inline constexpr Font kTitleFont{14, true};   ///< axes title

inline constexpr double kPad = 10;          ///< space between the axes cell edge and any text
inline constexpr double kTickLength = 4;    ///< outward tick marks
inline constexpr double kTickGap = 3;       ///< tick mark to its label
inline constexpr double kLabelGap = 7;      ///< tick labels to the axis label
inline constexpr double kTitleGap = 10;     ///< title baseline area to the plot
inline constexpr double kLabelSpacing = 8;  ///< minimum free space between neighbouring tick labels
inline constexpr double kMaxCategoryLabel = 220;  ///< longer category names are shortened with "…"

/// Small multiples (Axes::set_compact): a smaller title and tighter padding.
inline constexpr Font kCompactTitleFont{11, true};
inline constexpr double kCompactPad = 4;
inline constexpr double kCompactTitleGap = 5;

/// What an axes' cell spacing and title use.
struct AxesStyle {
  double pad;        ///< cell edge to text
  Font title;        ///< title font
  double title_gap;  ///< title to plot
};
inline AxesStyle axes_style(bool compact) {
  return compact ? AxesStyle{kCompactPad, kCompactTitleFont, kCompactTitleGap} : AxesStyle{kPad, kTitleFont, kTitleGap};
}

/// Figure::set_title: the title band at the top of the figure.
inline constexpr Font kFigureTitleFont{15, true};
inline constexpr double kFigureTitleBand = 34;
inline constexpr double kFigureKeyBand = 22;

inline constexpr double kColorbarGap = 14;    ///< plot to colour ramp
inline constexpr double kColorbarWidth = 14;  ///< colour ramp width
inline constexpr double kSwatchHeight = 12;   ///< "NaN" key below the ramp
inline constexpr double kSwatchGap = 10;      ///< ramp to "NaN" key

inline constexpr Color kInk{0.15, 0.15, 0.15};    ///< text, ticks, spines
inline constexpr Color kGrid{0.9, 0.9, 0.9};      ///< grid lines
inline constexpr Color kMuted{0.45, 0.45, 0.45};  ///< secondary text ("n/a")
inline constexpr Color kWhite{1, 1, 1};
inline constexpr double kSpineWidth = 1;

}  // namespace moeroute::plot::detail::style
