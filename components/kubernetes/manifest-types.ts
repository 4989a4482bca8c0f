import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export type Input = typeof k8s.types.input;
export type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

/** Where the objects of one DpiSensor live and how they are labelled. */
export interface Placement {
  readonly namespace: pulumi.Input<string>;
  /** The component's resource name: `app.kubernetes.io/instance` and the prefix of object names. */
  readonly instance: string;
}
