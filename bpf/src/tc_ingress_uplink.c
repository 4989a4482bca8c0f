// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Ingress on uplinks: blocks, mirror, fast path; routes are decided on the LAN side. */
#define FOS1_INGRESS_NAME fos1_ingress_uplink
#define FOS1_SIDE_LAN 0
#include "ingress.body.h"
