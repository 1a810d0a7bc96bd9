#include "shim.h"
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <string.h>

uint16_t relay_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{ return rte_eth_rx_burst(port, queue, pkts, n); }
uint16_t relay_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{ return rte_eth_tx_burst(port, queue, pkts, n); }

struct rte_mbuf *relay_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
int relay_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count)
{ return rte_pktmbuf_alloc_bulk(mp, mbufs, count); }
void relay_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void relay_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned count) { rte_pktmbuf_free_bulk(mbufs, count); }
char *relay_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *relay_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
int relay_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
char *relay_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
void *relay_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
uint16_t relay_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t relay_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
uint16_t relay_pktmbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
uint32_t relay_pktmbuf_pkt_len(const struct rte_mbuf *m) { return m->pkt_len; }
uint16_t relay_pktmbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
uint16_t relay_pktmbuf_port(const struct rte_mbuf *m) { return m->port; }
void relay_pktmbuf_set_port(struct rte_mbuf *m, uint16_t port) { m->port = port; }
void relay_prefetch0(const void *p) { rte_prefetch0(p); }

unsigned relay_mempool_avail_count(const struct rte_mempool *mp) { return rte_mempool_avail_count(mp); }
unsigned relay_mempool_in_use_count(const struct rte_mempool *mp) { return rte_mempool_in_use_count(mp); }

unsigned relay_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n, unsigned *free_space)
{ return rte_ring_enqueue_burst(r, objs, n, free_space); }
unsigned relay_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n, unsigned *available)
{ return rte_ring_dequeue_burst(r, objs, n, available); }
unsigned relay_ring_count(const struct rte_ring *r) { return rte_ring_count(r); }

unsigned relay_lcore_id(void) { return rte_lcore_id(); }
uint64_t relay_rdtsc(void) { return rte_rdtsc(); }
uint64_t relay_tsc_hz(void) { return rte_get_tsc_hz(); }
void relay_pause(void) { rte_pause(); }
int relay_errno(void) { return rte_errno; }
uint64_t relay_rss_ip(void) { return RTE_ETH_RSS_IP; }

int relay_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *hops, unsigned n)
{
    if (n == 64)
        return rte_lpm_lookup_bulk(lpm, ips, hops, 64);
    return rte_lpm_lookup_bulk(lpm, ips, hops, n);
}

void relay_lpm_lookupx4_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *hops,
                             unsigned n, uint32_t defv)
{
    unsigned i = 0;
    for (; i + 4 <= n; i += 4) {
        rte_xmm_t four;
        memcpy(four.u32, ips + i, sizeof(four.u32));
        rte_lpm_lookupx4(lpm, four.x, hops + i, defv);
    }
    for (; i < n; i++) {
        uint32_t hop;
        hops[i] = rte_lpm_lookup(lpm, ips[i], &hop) == 0 ? hop : defv;
    }
}
