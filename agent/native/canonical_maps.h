/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef FOS1_CANONICAL_MAPS_H
#define FOS1_CANONICAL_MAPS_H

#include <node_api.h>

napi_value fos1_read_canonical_maps(napi_env env, napi_callback_info info);

#endif
