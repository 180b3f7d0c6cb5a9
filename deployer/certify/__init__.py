"""Failover certification of a converged HA deployment (``deployer certify``).

One fault at a time on the controllers of a complete deployment: crash the
API VIP holder, kill -9 the Galera node HAProxy writes to, kill -9 the
RabbitMQ node leading the RPC queues, unplug a controller, hang one.  For
each, probes measure through the VIPs how long Keystone token issue,
acknowledged database writes and RPC to nova-conductor stopped, check that no
acknowledged write and no confirmed message was lost, restore the node and
wait until every cluster is whole again.  The table of outcomes is kept with
the deployment.

Modules: ``outcome`` (the rows and the targets), ``timeline`` (outage from a
series of successes, by the phase a stall began in), ``probes`` (the clients),
``probe_process`` (the process they run in), ``cluster`` (what the
controllers say, over SSH), ``faults`` (how a fault is done on test nodes and
on servers), ``target`` (a deployment -> what to certify), ``engine`` (the
sequence).
"""
