// SPDX-License-Identifier: Apache-2.0
// BPE merge loop (see bpe.h). Short pre-tokens use an O(n^2) array scan, which beats a heap for
// the few symbols a word has; long ones (runs of spaces, very long words) use a linked list and
// a min-heap so that a 100K-byte pre-token stays O(n log n). Both apply the same order.
#include "harness/tokenizer/bpe.h"

#include <algorithm>
#include <climits>

#include "harness/error.h"
#include "harness/tokenizer/byte_level.h"

namespace kvbench {

namespace {
constexpr size_t kSmallWord = 48;  // symbols; above this the heap version is used
}

BpeModel::BpeModel(const std::vector<std::pair<std::string, int32_t>>& vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   bool ignore_merges, const std::string& source)
    : ignore_merges_(ignore_merges) {
  int32_t max_id = -1;
  for (const auto& [text, id] : vocab) {
    KVBENCH_CHECK_INPUT(id >= 0, source, ": model.vocab[\"", text, "\"]: expected an id >= 0, got ",
                        id);
    max_id = std::max(max_id, id);
  }
  id_bytes_.assign(size_t(max_id + 1), std::string());
  id_text_.assign(size_t(max_id + 1), std::string());
  id_valid_.assign(size_t(max_id + 1), false);
  FlatStringMap by_text;
  for (const auto& [text, id] : vocab) {
    auto bytes = byte_level::decode_token(text);
    id_text_[id] = text;
    id_valid_[id] = true;
    by_text.insert(text, id);
    // A token outside the byte alphabet can never come out of byte-level BPE; it still decodes.
    id_bytes_[id] = bytes ? *bytes : text;
    if (bytes) vocab_.insert(*bytes, id);
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    // -1 when the vocabulary lacks this byte (SmolLM2's lacks 0x04): like Hugging Face's BPE
    // without an unk_token, encode_piece() then drops that byte.
    byte_ids_[b] = vocab_.find(std::string_view(&c, 1));
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const int32_t ia = by_text.find(a), ib = by_text.find(b), im = by_text.find(a + b);
    KVBENCH_CHECK_INPUT(ia >= 0 && ib >= 0 && im >= 0, source, ": model.merges[", rank, "] = [\"",
                        a, "\", \"", b, "\"]: expected both parts and their concatenation in "
                        "model.vocab");
    merges_.insert(ia, ib, {int32_t(rank), im});
  }
}

void BpeModel::encode_piece(std::string_view bytes, std::vector<int32_t>& out) const {
  if (ignore_merges_ || bytes.size() == 1) {
    const int32_t id = vocab_.find(bytes);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(bytes.size());
  for (unsigned char byte : bytes) {
    const int32_t id = byte_ids_[byte];
    if (id >= 0) symbols.push_back(id);  // a byte without a token is dropped (no unk_token)
  }
  if (symbols.empty()) return;
  if (symbols.size() <= kSmallWord) {
    merge_small(symbols);
  } else {
    merge_large(symbols);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::merge_small(std::vector<int32_t>& sym) const {
  // rank[i] / merged[i] describe the pair (sym[i], sym[i+1]); INT_MAX = no merge.
  int32_t rank[kSmallWord], merged[kSmallWord];
  size_t n = sym.size();
  for (size_t i = 0; i + 1 < n; ++i) {
    const PairMap::Merge m = merges_.find(sym[i], sym[i + 1]);
    rank[i] = m.rank < 0 ? INT_MAX : m.rank;
    merged[i] = m.id;
  }
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == INT_MAX) break;
    sym[best] = merged[best];
    // Remove symbol best+1 and pair best+1 (pair best now describes (sym[best], sym[best+2])).
    for (size_t i = best + 1; i + 1 < n; ++i) sym[i] = sym[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) {
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    auto refresh = [&](size_t i) {
      const PairMap::Merge m = merges_.find(sym[i], sym[i + 1]);
      rank[i] = m.rank < 0 ? INT_MAX : m.rank;
      merged[i] = m.id;
    };
    if (best > 0) refresh(best - 1);
    if (best + 1 < n) refresh(best);
  }
  sym.resize(n);
}

void BpeModel::merge_large(std::vector<int32_t>& sym) const {
  struct Candidate {
    int32_t rank, pos, left, right, merged;
    // Min-heap order for std::push_heap/pop_heap: lowest rank first, then leftmost.
    bool operator<(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  // Scratch reused across calls on this thread (no allocation per pre-token in steady state).
  thread_local std::vector<int32_t> next;
  thread_local std::vector<int32_t> prev;
  thread_local std::vector<Candidate> heap;
  const int32_t n = int32_t(sym.size());
  next.resize(n);
  prev.resize(n);
  heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto push = [&](int32_t i) {
    const int32_t j = next[i];
    if (j < 0) return;
    const PairMap::Merge m = merges_.find(sym[i], sym[j]);
    if (m.rank < 0) return;
    heap.push_back({m.rank, i, sym[i], sym[j], m.id});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 0; i + 1 < n; ++i) {
    const PairMap::Merge m = merges_.find(sym[i], sym[i + 1]);
    if (m.rank >= 0) heap.push_back({m.rank, i, sym[i], sym[i + 1], m.id});
  }
  std::make_heap(heap.begin(), heap.end());
  // A dead symbol has sym == -1 (absorbed into its left neighbour).
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate c = heap.back();
    heap.pop_back();
    const int32_t i = c.pos;
    // Stale entry: the left symbol was absorbed or changed, or its right neighbour changed.
    if (sym[i] != c.left) continue;
    const int32_t j = next[i];
    if (j < 0 || sym[j] != c.right) continue;
    sym[i] = c.merged;
    sym[j] = -1;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    if (prev[i] >= 0) push(prev[i]);
    push(i);
  }
  size_t k = 0;
  for (int32_t i = 0; i >= 0 && i < n; i = next[i]) sym[k++] = sym[i];
  sym.resize(k);
}

}  // namespace kvbench
