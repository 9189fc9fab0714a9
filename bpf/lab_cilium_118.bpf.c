// SPDX-License-Identifier: GPL-2.0
// The lab's stand-in of Cilium's datapath with Cilium 1.18's map layouts (bpf/lab_cilium.h).
#define CILIUM_LAYOUT 118
#include "lab_cilium.h"
