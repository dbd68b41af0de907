// Why a control is disabled: the pipeline behind it has not landed yet.
export function ComingWith({ feature, id }: { feature: string; id?: string }) {
  return (
    <p className="coming" id={id}>
      Coming with {feature}.
    </p>
  );
}
