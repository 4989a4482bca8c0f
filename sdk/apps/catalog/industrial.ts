import type { Application } from "../application";

export const INDUSTRIAL: readonly Application[] = [
  { name: "mqtt", id: 107, category: "industrial", ndpi: ["MQTT"], suricata: ["mqtt"], zeek: ["mqtt"] },
  {
    name: "modbus",
    id: 108,
    category: "industrial",
    ndpi: ["Modbus"],
    suricata: ["modbus"],
    zeek: ["modbus"],
  },
  {
    name: "dnp3",
    id: 109,
    category: "industrial",
    ndpi: ["DNP3"],
    suricata: ["dnp3"],
    zeek: ["dnp3_tcp", "dnp3_udp"],
  },
];
