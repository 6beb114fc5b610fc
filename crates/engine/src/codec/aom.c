/* AV1 still images through libaom (the `aom` cargo feature; built by build.rs with the
 * system's libaom headers, so no struct layout is copied into Rust). One call encodes one
 * 8-bit, full-range picture on the calling thread: three full-size (4:4:4) planes under the
 * CICP `matrix` (0, identity: G, B, R; 6, BT.601: Y, Cb, Cr) or one plane (monochrome, for an
 * alpha item). `cq_level` 0-63 is the quantizer of a lossy picture; -1 asks for lossless. The
 * caller frees the result with conveyor_aom_free. libavif's codec_aom.c is the model for the
 * settings. */
#include <aom/aom_encoder.h>
#include <aom/aomcx.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int say(char *err, size_t err_len, const char *what, aom_codec_ctx_t *ctx) {
  if (ctx) {
    const char *detail = aom_codec_error_detail(ctx);
    snprintf(err, err_len, "%s: %s%s%s", what, aom_codec_error(ctx), detail ? ": " : "",
             detail ? detail : "");
  } else {
    snprintf(err, err_len, "%s", what);
  }
  return -1;
}

int conveyor_aom_encode(const uint8_t *const planes[3], unsigned width, unsigned height,
                        int monochrome, int matrix, int cq_level, int cpu_used, uint8_t **out,
                        size_t *out_len, char *err, size_t err_len) {
  int lossless = cq_level < 0;
  *out = NULL;
  *out_len = 0;
  aom_codec_iface_t *iface = aom_codec_av1_cx();
  aom_codec_enc_cfg_t cfg;
  if (aom_codec_enc_config_default(iface, &cfg, AOM_USAGE_ALL_INTRA) != AOM_CODEC_OK) {
    return say(err, err_len, "libaom has no all-intra configuration", NULL);
  }
  cfg.g_w = width;
  cfg.g_h = height;
  cfg.g_threads = 1;
  /* 4:4:4 needs the High profile; a monochrome (4:0:0) plane fits the Main profile. */
  cfg.g_profile = monochrome ? 0 : 1;
  cfg.g_bit_depth = AOM_BITS_8;
  cfg.g_input_bit_depth = 8;
  cfg.monochrome = monochrome ? 1 : 0;
  /* One frame: still_picture and the reduced still-picture header. */
  cfg.g_limit = 1;
  cfg.g_lag_in_frames = 0;
  cfg.kf_mode = AOM_KF_DISABLED;
  cfg.kf_max_dist = 0;
  cfg.rc_end_usage = AOM_Q;
  cfg.rc_min_quantizer = 0;
  cfg.rc_max_quantizer = lossless ? 0 : 63;

  aom_codec_ctx_t ctx;
  if (aom_codec_enc_init(&ctx, iface, &cfg, 0) != AOM_CODEC_OK) {
    return say(err, err_len, "cannot start libaom", &ctx);
  }
  int ok = aom_codec_control(&ctx, AOME_SET_CPUUSED, cpu_used) == AOM_CODEC_OK &&
           aom_codec_control(&ctx, AOME_SET_CQ_LEVEL, lossless ? 0 : cq_level) == AOM_CODEC_OK &&
           aom_codec_control(&ctx, AV1E_SET_LOSSLESS, lossless) == AOM_CODEC_OK &&
           aom_codec_control(&ctx, AV1E_SET_ROW_MT, 0) == AOM_CODEC_OK &&
           aom_codec_control(&ctx, AV1E_SET_COLOR_RANGE, AOM_CR_FULL_RANGE) == AOM_CODEC_OK;
  if (ok && !monochrome) {
    ok = aom_codec_control(&ctx, AV1E_SET_COLOR_PRIMARIES, AOM_CICP_CP_BT_709) == AOM_CODEC_OK &&
         aom_codec_control(&ctx, AV1E_SET_TRANSFER_CHARACTERISTICS, AOM_CICP_TC_SRGB) ==
             AOM_CODEC_OK &&
         aom_codec_control(&ctx, AV1E_SET_MATRIX_COEFFICIENTS, matrix) == AOM_CODEC_OK;
  }
  if (!ok) {
    say(err, err_len, "libaom refused a setting", &ctx);
    aom_codec_destroy(&ctx);
    return -1;
  }

  /* A monochrome picture still hands libaom 4:2:0 chroma planes (libavif does the same); they
   * are mid-grey and not coded. */
  uint8_t *grey = NULL;
  aom_image_t img;
  if (!aom_img_wrap(&img, monochrome ? AOM_IMG_FMT_I420 : AOM_IMG_FMT_I444, width, height, 1,
                    (unsigned char *)planes[0])) {
    aom_codec_destroy(&ctx);
    return say(err, err_len, "libaom cannot describe the picture", NULL);
  }
  img.planes[AOM_PLANE_Y] = (unsigned char *)planes[0];
  img.stride[AOM_PLANE_Y] = (int)width;
  if (monochrome) {
    size_t cw = (width + 1) / 2, ch = (height + 1) / 2;
    grey = malloc(cw * ch);
    if (!grey) {
      aom_codec_destroy(&ctx);
      return say(err, err_len, "out of memory", NULL);
    }
    memset(grey, 128, cw * ch);
    img.planes[AOM_PLANE_U] = img.planes[AOM_PLANE_V] = grey;
    img.stride[AOM_PLANE_U] = img.stride[AOM_PLANE_V] = (int)cw;
    img.monochrome = 1;
  } else {
    img.planes[AOM_PLANE_U] = (unsigned char *)planes[1];
    img.planes[AOM_PLANE_V] = (unsigned char *)planes[2];
    img.stride[AOM_PLANE_U] = img.stride[AOM_PLANE_V] = (int)width;
    img.cp = AOM_CICP_CP_BT_709;
    img.tc = AOM_CICP_TC_SRGB;
    img.mc = (aom_matrix_coefficients_t)matrix;
  }
  img.range = AOM_CR_FULL_RANGE;

  /* The frame, then the flush; each call's packets are taken before the next call. */
  int result = 0;
  uint8_t *buf = NULL;
  size_t len = 0;
  for (int call = 0; call < 2 && result == 0; call++) {
    if (aom_codec_encode(&ctx, call == 0 ? &img : NULL, 0, 1, 0) != AOM_CODEC_OK) {
      result = say(err, err_len, "libaom could not encode", &ctx);
      break;
    }
    aom_codec_iter_t iter = NULL;
    const aom_codec_cx_pkt_t *pkt;
    while ((pkt = aom_codec_get_cx_data(&ctx, &iter)) != NULL) {
      if (pkt->kind != AOM_CODEC_CX_FRAME_PKT) continue;
      uint8_t *grown = realloc(buf, len + pkt->data.frame.sz);
      if (!grown) {
        result = say(err, err_len, "out of memory", NULL);
        break;
      }
      buf = grown;
      memcpy(buf + len, pkt->data.frame.buf, pkt->data.frame.sz);
      len += pkt->data.frame.sz;
    }
  }
  aom_codec_destroy(&ctx);
  free(grey);
  if (result == 0 && len == 0) result = say(err, err_len, "libaom produced no frame", NULL);
  if (result != 0) {
    free(buf);
    return result;
  }
  *out = buf;
  *out_len = len;
  return 0;
}

void conveyor_aom_free(uint8_t *p) { free(p); }
