// SPDX-License-Identifier: Apache-2.0
#include "reports/latex.h"

namespace kvbench {

std::string latex_escape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    switch (c) {
      case '\\': out += "\\textbackslash{}"; break;
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += c;
        break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '<': out += "\\textless{}"; break;
      case '>': out += "\\textgreater{}"; break;
      case '|': out += "\\textbar{}"; break;
      default:
        // UTF-8 "±" (C2 B1) and "Δ" (CE 94), the only non-ASCII the tables produce themselves.
        if (static_cast<unsigned char>(c) == 0xC2 && i + 1 < text.size() &&
            static_cast<unsigned char>(text[i + 1]) == 0xB1) {
          out += "$\\pm$";
          ++i;
        } else if (static_cast<unsigned char>(c) == 0xCE && i + 1 < text.size() &&
                   static_cast<unsigned char>(text[i + 1]) == 0x94) {
          out += "$\\Delta$";
          ++i;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string to_latex(const Table& table) {
  std::string spec;
  for (size_t c = 0; c < table.header.size(); ++c) spec += c < table.key_columns ? "l" : "r";
  std::string out = "\\begin{table}[t]\n\\centering\n\\small\n";
  out += "\\begin{tabular}{" + spec + "}\n\\toprule\n";
  auto line = [](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) s += (c ? " & " : "") + latex_escape(cells[c]);
    return s + " \\\\\n";
  };
  out += line(table.header) + "\\midrule\n";
  for (const auto& row : table.rows) {
    std::vector<std::string> texts;
    for (const auto& cell : row) texts.push_back(cell.text);
    out += line(texts);
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  if (!table.title.empty()) out += "\\caption{" + latex_escape(table.title) + "}\n";
  if (!table.notes.empty()) {
    out += "\\par\\footnotesize\n";
    for (const auto& note : table.notes) out += latex_escape(note) + "\\\\\n";
  }
  out += "\\end{table}\n";
  return out;
}

std::string latex_document(const std::vector<std::string>& tables) {
  std::string out = "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n"
                    "\\usepackage[margin=1cm,landscape]{geometry}\n\\begin{document}\n";
  for (const auto& t : tables) out += t + "\n";
  return out + "\\end{document}\n";
}

}  // namespace kvbench
