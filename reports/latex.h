// SPDX-License-Identifier: Apache-2.0
// Paper-ready LaTeX for a report Table: a booktabs tabular (\toprule, \midrule, \bottomrule) in a
// table float, every text cell escaped, "±" as $\pm$, notes as a footnotesize paragraph. Needs
// \usepackage{booktabs} in the paper's preamble (standalone_document() adds it).
#pragma once

#include "reports/table.h"

#include <string>
#include <vector>

namespace kvbench {

// Escapes LaTeX's special characters: \ & % $ # _ { } ~ ^ (and < > | outside math), keeping the
// text readable (e.g. "_" -> "\_", "\" -> "\textbackslash{}").
std::string latex_escape(const std::string& text);
std::string to_latex(const Table& table);
// A compilable document holding the tables (for a quick pdflatex check).
std::string latex_document(const std::vector<std::string>& tables);

}  // namespace kvbench
