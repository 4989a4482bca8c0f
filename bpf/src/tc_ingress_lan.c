// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Ingress on LAN interfaces: also decides each new flow's route mark. */
#define FOS1_INGRESS_NAME fos1_ingress_lan
#define FOS1_SIDE_LAN 1
#include "ingress.body.h"
