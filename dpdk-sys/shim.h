/* C wrappers for DPDK's static-inline fast path (rx/tx burst, mbuf, ring, lcore, tsc).
 * Compiled with the same pkg-config flags as DPDK's own headers, so they inline fully. */
#ifndef RELAY_DPDK_SHIM_H
#define RELAY_DPDK_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_lpm.h>

uint16_t relay_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t relay_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);

struct rte_mbuf *relay_pktmbuf_alloc(struct rte_mempool *mp);
int relay_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count);
void relay_pktmbuf_free(struct rte_mbuf *m);
void relay_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned count);
char *relay_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *relay_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int relay_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
char *relay_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
void *relay_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t relay_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t relay_pktmbuf_tailroom(const struct rte_mbuf *m);
uint16_t relay_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t relay_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t relay_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t relay_pktmbuf_port(const struct rte_mbuf *m);
void relay_pktmbuf_set_port(struct rte_mbuf *m, uint16_t port);
void relay_prefetch0(const void *p);

unsigned relay_mempool_avail_count(const struct rte_mempool *mp);
unsigned relay_mempool_in_use_count(const struct rte_mempool *mp);

unsigned relay_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned relay_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n, unsigned *available);
unsigned relay_ring_count(const struct rte_ring *r);

unsigned relay_lcore_id(void);
uint64_t relay_rdtsc(void);
uint64_t relay_tsc_hz(void);
void relay_pause(void);
int relay_errno(void);
uint64_t relay_rss_ip(void);

/* rte_lpm's lookups, for the benchmarks (benches/lpm-bench): rte_lpm_lookup_bulk with the
 * burst size a compile-time constant when it is relayd's 64, as rte_lpm.h asks for its best
 * code, and rte_lpm_lookupx4 over an array as l3fwd's SSE path uses it (misses get defv). */
int relay_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *hops, unsigned n);
void relay_lpm_lookupx4_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *hops,
                             unsigned n, uint32_t defv);

#endif
