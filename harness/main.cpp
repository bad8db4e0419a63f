// SPDX-License-Identifier: Apache-2.0
// kvbench CLI entry point (placeholder until the CLI lands in this change).
#include <cstdio>
int main() { return 0; }
