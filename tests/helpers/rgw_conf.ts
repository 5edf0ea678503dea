/** The ceph.conf of the one-node test cluster (see rgw.ts for why each odd setting is there). */

/** Everything that differs between two clusters: their folder, id and ports. */
export interface CephConfInput {
  dir: string;
  fsid: string;
  /** radosgw's S3 port. */
  port: number;
  monPort: number;
  /** Port window for the OSD's messenger. */
  bind: [number, number];
}

export function cephConf({ dir, fsid, port, monPort, bind }: CephConfInput): string {
  return `[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${monPort}]
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_port_min = ${bind[0]}
ms_bind_port_max = ${bind[1]}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# radosgw otherwise waits 300 s for a secure mon session that cannot exist without cephx
ms_mon_client_mode = crc
auth_allow_insecure_global_id_reclaim = false
keyring = ${dir}/keyring
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
log_file = ${dir}/log/$name.log
crash_dir = ${dir}/crash
log_to_stderr = false
err_to_stderr = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 1
ms_async_op_threads = 2
debug_ms = 0

[mon]
mon_data = ${dir}/$name
mon_allow_pool_delete = true

[osd]
osd_data = ${dir}/$name
osd_objectstore = bluestore
# bluestore_block_path stays unset: pointing it at the OSD's own block file fails (symlink loop)
bluestore_block_create = true
bluestore_block_size = 21474836480
bluestore_fsck_on_mount = false
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 1073741824
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
bdev_enable_discard = false

[client]
rgw_data = ${dir}/rgw.$id
rgw_frontends = beast endpoint=127.0.0.1:${port}
rgw_dns_name = localhost
rgw_thread_pool_size = 32
rgw_dynamic_resharding = false
rgw_enable_usage_log = false
debug_rgw = 1
# SSE-C over plain http, so tests can exercise customer keys on loopback
rgw_crypt_require_ssl = false
`;
}
