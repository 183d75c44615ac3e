/**
 * The body of the "Export to Airflow DAG" dialog: DAG id, schedule, Airflow version, output
 * folder, start date, data dir, and where the environments come from (the command's
 * options).
 */
import { Dialog } from '@jupyterlab/apputils';
import { HTMLSelect, InputGroup, ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { trans } from '../i18n';

/** What the dialog asks for. */
export interface IExportOptions {
  dag_id: string;
  /** `null` for no schedule, `@daily`, or a cron expression. */
  schedule: string | null;
  airflow: 3 | 2;
  /** The output folder relative to the server root (`dags` beside the notebook). */
  output: string;
  /** `YYYY-MM-DD`. */
  start_date: string;
  /** Empty for the default (a folder beside the DAG). */
  data_dir: string;
  /** Where the tasks' environments come from (`isocell export --target`). */
  target: ExportTarget;
  /** The Airflow image the prebuilt target builds on; empty for the default. */
  base_image: string;
  /** The kubernetes target's namespace, image registry prefix and container resources
   * (`cpu=500m,memory=1Gi`); each empty for the default. */
  namespace: string;
  registry: string;
  resources: string;
}

/** The export targets (`isocell export --target`). */
export type ExportTarget = 'virtualenv' | 'prebuilt' | 'kubernetes';

/** The default start date, as the command's. */
export const DEFAULT_START = '2024-01-01';

/** The default output folder: `dags` beside the notebook. */
export function outputFor(notebookPath: string): string {
  const slash = notebookPath.lastIndexOf('/');
  return slash === -1 ? 'dags' : `${notebookPath.slice(0, slash)}/dags`;
}

type ScheduleChoice = 'none' | '@daily' | 'cron';

/** A DAG id from a notebook's file name: letters, digits and underscores. */
export function dagIdFor(notebookPath: string): string {
  const file = notebookPath.split('/').pop() ?? notebookPath;
  const stem = file.replace(/\.ipynb$/i, '');
  const id = stem.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return id || 'notebook';
}

export class ExportOptionsBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IExportOptions>
{
  constructor(dagId: string, output: string) {
    super();
    this.addClass('jp-isocell-ExportDialog');
    this._options = {
      dag_id: dagId,
      schedule: null,
      airflow: 3,
      output,
      start_date: DEFAULT_START,
      data_dir: '',
      target: 'virtualenv',
      base_image: '',
      namespace: '',
      registry: '',
      resources: ''
    };
  }

  getValue(): IExportOptions {
    return { ...this._options };
  }

  protected render(): JSX.Element {
    return (
      <ExportForm
        initial={this._options}
        onChange={options => {
          this._options = options;
        }}
      />
    );
  }

  private _options: IExportOptions;
}

function ExportForm(props: {
  initial: IExportOptions;
  onChange: (options: IExportOptions) => void;
}): JSX.Element {
  const id = React.useId();
  const [dagId, setDagId] = React.useState(props.initial.dag_id);
  const [choice, setChoice] = React.useState<ScheduleChoice>('none');
  const [cron, setCron] = React.useState('0 6 * * *');
  const [airflow, setAirflow] = React.useState<3 | 2>(props.initial.airflow);
  const [output, setOutput] = React.useState(props.initial.output);
  const [start, setStart] = React.useState(props.initial.start_date);
  const [dataDir, setDataDir] = React.useState(props.initial.data_dir);
  const [target, setTarget] = React.useState(props.initial.target);
  const [baseImage, setBaseImage] = React.useState(props.initial.base_image);
  const [pods, setPods] = React.useState({
    namespace: props.initial.namespace,
    registry: props.initial.registry,
    resources: props.initial.resources
  });

  React.useEffect(() => {
    const schedule =
      choice === 'none' ? null : choice === 'cron' ? cron.trim() : choice;
    props.onChange({
      dag_id: dagId.trim(),
      schedule,
      airflow,
      output: output.trim(),
      start_date: start.trim(),
      data_dir: dataDir.trim(),
      target,
      base_image: target === 'prebuilt' ? baseImage.trim() : '',
      namespace: target === 'kubernetes' ? pods.namespace.trim() : '',
      registry: target === 'kubernetes' ? pods.registry.trim() : '',
      resources: target === 'kubernetes' ? pods.resources.trim() : ''
    });
  }, [
    dagId,
    choice,
    cron,
    airflow,
    output,
    start,
    dataDir,
    target,
    baseImage,
    pods
  ]);

  return (
    <div className="jp-isocell-Form">
      <label htmlFor={`${id}-dag`}>{trans().__('DAG id')}</label>
      <InputGroup
        id={`${id}-dag`}
        aria-label={trans().__('DAG id')}
        value={dagId}
        onChange={event => setDagId(event.target.value)}
      />
      <label htmlFor={`${id}-schedule`}>{trans().__('Schedule')}</label>
      <HTMLSelect
        id={`${id}-schedule`}
        aria-label={trans().__('Schedule')}
        value={choice}
        options={[
          { value: 'none', label: trans().__('None (run when triggered)') },
          { value: '@daily', label: trans().__('Daily (@daily)') },
          { value: 'cron', label: trans().__('Cron expression') }
        ]}
        onChange={event => setChoice(event.target.value as ScheduleChoice)}
      />
      {choice === 'cron' && (
        <InputGroup
          aria-label={trans().__('Cron expression')}
          placeholder="0 6 * * *"
          value={cron}
          onChange={event => setCron(event.target.value)}
        />
      )}
      <label htmlFor={`${id}-airflow`}>{trans().__('Airflow version')}</label>
      <HTMLSelect
        id={`${id}-airflow`}
        aria-label={trans().__('Airflow version')}
        value={String(airflow)}
        options={[
          { value: '3', label: trans().__('Airflow 3') },
          { value: '2', label: trans().__('Airflow 2') }
        ]}
        onChange={event => setAirflow(event.target.value === '2' ? 2 : 3)}
      />
      <label htmlFor={`${id}-output`}>{trans().__('Output folder')}</label>
      <InputGroup
        id={`${id}-output`}
        aria-label={trans().__('Output folder')}
        value={output}
        onChange={event => setOutput(event.target.value)}
      />
      <label htmlFor={`${id}-start`}>{trans().__('Start date')}</label>
      <input
        id={`${id}-start`}
        className="jp-mod-styled"
        type="date"
        aria-label={trans().__('Start date')}
        value={start}
        onChange={event => setStart(event.target.value)}
      />
      <label htmlFor={`${id}-data`}>{trans().__('Data dir')}</label>
      <InputGroup
        id={`${id}-data`}
        aria-label={trans().__('Data dir')}
        placeholder={
          target === 'kubernetes'
            ? trans().__('needed: an fsspec URL such as s3://bucket/prefix')
            : trans().__('default: a folder beside the DAG')
        }
        value={dataDir}
        onChange={event => setDataDir(event.target.value)}
      />
      <label htmlFor={`${id}-target`}>{trans().__('Environments')}</label>
      <HTMLSelect
        id={`${id}-target`}
        aria-label={trans().__('Environments')}
        value={target}
        onChange={event => setTarget(event.target.value as ExportTarget)}
        options={[
          {
            value: 'virtualenv',
            label: trans().__(
              'Built by Airflow on each worker (@task.virtualenv)'
            )
          },
          {
            value: 'prebuilt',
            label: trans().__(
              'Prebuilt into the image (a Dockerfile, @task.external_python)'
            )
          },
          {
            value: 'kubernetes',
            label: trans().__(
              'A Kubernetes pod per cell, an image per environment (@task.kubernetes)'
            )
          }
        ]}
      />
      {target === 'prebuilt' && (
        <>
          <label htmlFor={`${id}-image`}>{trans().__('Base image')}</label>
          <InputGroup
            id={`${id}-image`}
            aria-label={trans().__('Base image')}
            placeholder={trans().__('default: apache/airflow:latest')}
            value={baseImage}
            onChange={event => setBaseImage(event.target.value)}
          />
        </>
      )}
      {target === 'kubernetes' && (
        <>
          <label htmlFor={`${id}-namespace`}>{trans().__('Namespace')}</label>
          <InputGroup
            id={`${id}-namespace`}
            aria-label={trans().__('Namespace')}
            placeholder={trans().__('default: default')}
            value={pods.namespace}
            onChange={event =>
              setPods({ ...pods, namespace: event.target.value })
            }
          />
          <label htmlFor={`${id}-registry`}>
            {trans().__('Image registry')}
          </label>
          <InputGroup
            id={`${id}-registry`}
            aria-label={trans().__('Image registry')}
            placeholder={trans().__('e.g. registry.example.com/team')}
            value={pods.registry}
            onChange={event =>
              setPods({ ...pods, registry: event.target.value })
            }
          />
          <label htmlFor={`${id}-resources`}>{trans().__('Resources')}</label>
          <InputGroup
            id={`${id}-resources`}
            aria-label={trans().__('Resources')}
            placeholder={trans().__('e.g. cpu=500m,memory=1Gi')}
            value={pods.resources}
            onChange={event =>
              setPods({ ...pods, resources: event.target.value })
            }
          />
        </>
      )}
    </div>
  );
}
