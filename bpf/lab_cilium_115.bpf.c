// SPDX-License-Identifier: GPL-2.0
// The lab's stand-in of Cilium's datapath with Cilium 1.15's map layouts (bpf/lab_cilium.h).
#define CILIUM_LAYOUT 115
#include "lab_cilium.h"
